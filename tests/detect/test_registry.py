"""Model files: metadata content, and clear ModelFileError for every kind of damage."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fraudstream.detect import registry
from fraudstream.detect.gbm import GradientBoostingDetector
from fraudstream.detect.iforest import IsolationForestDetector
from fraudstream.errors import ModelFileError
from tests.detect.detect_cases import feature_frame


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    X, y = feature_frame(n=600)
    X = X.assign(ts=pd.date_range("2024-01-01", periods=len(X), freq="min", tz="UTC"))
    detector = IsolationForestDetector(n_estimators=20).fit(X, y)
    folder = registry.save(detector, tmp_path_factory.mktemp("models") / "forest",
                           {"metrics": {"ap": 0.5}, "training": {"world": "synthetic"}, "owner": "h8"})
    return folder, detector, X


def _copy(folder, tmp_path):
    import shutil

    target = tmp_path / "copy"
    shutil.copytree(folder, target)
    return target


def test_metadata_records_what_the_brief_asks(saved):
    folder, detector, _X = saved
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["kind"] == "iforest"
    assert meta["features"] == ["amount", "customer_mean_30d", "customer_count_1h", "hour"]
    assert meta["params"]["n_estimators"] == 20
    assert meta["threshold"] == 0.0
    assert meta["training"]["rows"] == 600
    assert meta["training"]["fraud_rate"] == pytest.approx(detector.training_summary_["fraud_rate"])
    assert meta["training"]["time_range"][0].startswith("2024-01-01T00:00:00")
    assert meta["training"]["world"] == "synthetic"
    assert meta["metrics"] == {"ap": 0.5}
    assert meta["extra"] == {"owner": "h8"}
    assert {"python", "numpy", "pandas", "scikit-learn", "joblib"} <= set(meta["libraries"])
    assert set(meta["files"]) == {"model.joblib"}
    assert len(meta["content_hash"]) == 64
    assert registry.read_metadata(folder)["content_hash"] == meta["content_hash"]


def test_corrupt_state_file(saved, tmp_path):
    folder = _copy(saved[0], tmp_path)
    data = bytearray((folder / "model.joblib").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "model.joblib").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"model.joblib: hash mismatch \(file is corrupt or was changed\)"):
        registry.load(folder)


def test_truncated_metadata(saved, tmp_path):
    folder = _copy(saved[0], tmp_path)
    text = (folder / "metadata.json").read_text()
    (folder / "metadata.json").write_text(text[: len(text) // 2])
    with pytest.raises(ModelFileError, match="corrupt metadata, not valid JSON"):
        registry.load(folder)


def test_edited_metadata(saved, tmp_path):
    folder = _copy(saved[0], tmp_path)
    meta = json.loads((folder / "metadata.json").read_text())
    meta["threshold"] = -5.0
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="content_hash mismatch: the metadata was edited"):
        registry.load(folder)


def test_wrong_format(saved, tmp_path):
    folder = _copy(saved[0], tmp_path)
    (folder / "metadata.json").write_text(json.dumps({"format": "keras-h5"}))
    with pytest.raises(ModelFileError, match="format is 'keras-h5', expected 'fraudstream-model'"):
        registry.load(folder)
    a_file = tmp_path / "model.pkl"
    a_file.write_bytes(b"\x80\x04not a folder")
    with pytest.raises(ModelFileError, match="model.pkl is a file; a saved model is a folder"):
        registry.load(a_file)
    with pytest.raises(ModelFileError, match="missing"):
        registry.load(tmp_path / "nothing")


def test_missing_and_unexpected_files(saved, tmp_path):
    folder = _copy(saved[0], tmp_path)
    (folder / "model.joblib").unlink()
    with pytest.raises(ModelFileError, match="state file model.joblib is missing"):
        registry.load(folder)
    folder2 = _copy(saved[0], tmp_path / "b")
    (folder2 / "evil.py").write_text("import os")
    with pytest.raises(ModelFileError, match="unexpected file evil.py"):
        registry.load(folder2)


def test_feature_list_that_does_not_match_the_frame(saved):
    folder, _, X = saved
    with pytest.raises(ModelFileError, match="expects feature\\(s\\) customer_count_1h, missing from the frame"):
        registry.load(folder, columns=X.drop(columns=["customer_count_1h"]).columns)


def test_library_version_mismatch(saved, tmp_path):
    folder = _copy(saved[0], tmp_path)
    meta = json.loads((folder / "metadata.json").read_text())
    meta["libraries"]["scikit-learn"] = "0.24.2"
    meta["content_hash"] = registry._content_hash(meta)
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="saved with scikit-learn 0.24.2, installed is 1.9.1; "
                                             "the major.minor version must match"):
        registry.load(folder)


def test_overwrite_is_explicit(saved, tmp_path):
    _, detector, X = saved
    folder = registry.save(detector, tmp_path / "m")
    with pytest.raises(ModelFileError, match="already exists"):
        registry.save(detector, folder)
    registry.save(detector, folder, overwrite=True)
    np.testing.assert_array_equal(registry.load(folder).score_many(X), detector.score_many(X))


def test_lightgbm_is_stored_as_text_and_torch_as_state_dict(tmp_path):
    X, y = feature_frame(n=800)
    gbm = GradientBoostingDetector(n_estimators=10).fit(X, y)
    folder = registry.save(gbm, tmp_path / "gbm")
    assert (folder / "model.txt").read_text().startswith("tree")
    from fraudstream.detect.autoencoder import AutoencoderDetector

    ae = AutoencoderDetector(epochs=1).fit(X)
    folder = registry.save(ae, tmp_path / "ae")
    assert set(json.loads((folder / "metadata.json").read_text())["files"]) == {"model.pt", "state.npz"}
    state = (folder / "model.pt").read_bytes()
    (folder / "model.pt").write_bytes(state[:100])
    with pytest.raises(ModelFileError, match="model.pt: hash mismatch"):
        registry.load(folder)


def test_unfitted_detector_cannot_be_saved(tmp_path):
    from fraudstream.errors import NotFittedError

    with pytest.raises(NotFittedError):
        registry.save(IsolationForestDetector(), tmp_path / "x")
