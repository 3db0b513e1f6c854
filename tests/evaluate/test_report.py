"""The evaluation report and experiments: JSON equals scikit-learn, HTML references every PNG,
same seed -> same model and scores, shuffled labels -> AP about the prevalence."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
    roc_curve,
)

from fraudstream.detect import registry
from fraudstream.evaluate.experiment import (
    DataSource,
    DetectorSpec,
    Prepared,
    SplitSpec,
    ThresholdSpec,
    evaluate_model,
    evaluate_on_split,
    fit_on_split,
    make_splits,
    prepare,
    train,
)
from fraudstream.evaluate.featuresets import build_feature_set
from fraudstream.evaluate.plots import FIGURES
from fraudstream.evaluate.report import write_report

SOURCE = DataSource(
    world="handbook",
    seed=3,
    days=30,
    params={"n_customers": 400, "n_terminals": 800, "compromised_terminals_per_day": 1},
)
SPLIT = SplitSpec("temporal", train_days=9, delay_days=7, test_days=7)
GBM = DetectorSpec("gbm", params={"n_estimators": 60})


@pytest.fixture(scope="module")
def prepared() -> Prepared:
    return prepare(SOURCE, "handbook")


@pytest.fixture(scope="module")
def scored(prepared):
    split = make_splits(prepared.frame, SPLIT)[0]
    detector, info = fit_on_split(prepared, split, GBM, ThresholdSpec(budget=30))
    result = evaluate_on_split(prepared, split, detector, info, k=20)
    test = prepared.frame.iloc[split.test]
    scores = detector.score_many(prepared.features.iloc[split.test])
    return result, test, scores


def test_report_files_exist_and_html_references_every_png(scored, tmp_path):
    result, _, _ = scored
    folder = write_report(result, tmp_path / "report")
    html = (folder / "report.html").read_text()
    for file_name, _, _ in FIGURES.values():
        png = folder / file_name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"src='{file_name}'" in html
    document = json.loads((folder / "report.json").read_text())
    assert set(document["figures"]) == set(FIGURES)
    assert document["files"]["figures"] == {name: f for name, (f, _, _) in FIGURES.items()}
    assert "http" not in html  # nothing fetched from elsewhere


def test_json_metrics_equal_scikit_learn(scored, tmp_path):
    result, test, scores = scored
    document = json.loads((write_report(result, tmp_path, figures=False) / "report.json").read_text())
    m = document["metrics"]
    y = test["is_fraud"].to_numpy(int)
    threshold = document["threshold"]["value"]
    flags = (scores >= threshold).astype(int)
    assert m["ap"] == pytest.approx(average_precision_score(y, scores), abs=1e-12)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    precision, recall, f1, _ = precision_recall_fscore_support(y, flags, average="binary", zero_division=0)
    assert (m["precision"], m["recall"], m["f1"]) == pytest.approx((precision, recall, f1), abs=1e-12)
    tn, fp, fn, tp = confusion_matrix(y, flags).ravel()
    assert m["confusion"] == {"tn": tn, "fp": fp, "fn": fn, "tp": tp}
    assert document["figures"]["confusion_matrix"]["matrix"] == [[tn, fp], [fn, tp]]
    fpr, tpr, _ = roc_curve(y, scores)
    assert m["recall_at_1pct_fpr"] == pytest.approx(tpr[fpr <= 0.01].max(), abs=1e-12)
    assert m["prevalence"] == pytest.approx(y.mean()) and m["rows"] == len(y)
    assert m["cost"]["missed_fraud_amount"] == pytest.approx(
        test["amount"].to_numpy()[(y == 1) & (flags == 0)].sum()
    )
    assert m["cost"]["alerts"] == flags.sum()


def test_json_per_day_and_per_pattern_tables(scored):
    result, test, scores = scored
    frame = test.assign(score=scores, day=test["ts"].dt.floor("D"))
    for row in result.per_day:
        day = frame[frame["day"].dt.date.astype(str) == row["day"]]
        top = day.sort_values("score", ascending=False, kind="mergesort").head(20)
        assert row["p_at_k"] == pytest.approx(top["is_fraud"].sum() / 20)
    first = result.per_day[0]  # no card removed yet: the oracle is the ceiling
    assert first["oracle"] >= first["card_precision"]
    flags = scores >= result.threshold["value"]
    for row in result.per_pattern:
        mine = (test["fraud_pattern"] == row["pattern"]).to_numpy()
        assert row["frauds"] == mine.sum()
        assert row["recall"] == pytest.approx(flags[mine].mean())
    assert sum(r["frauds"] for r in result.per_pattern) == result.metrics["frauds"]


def test_threshold_chosen_on_validation_slice_respects_budget(prepared, scored):
    result, _, _ = scored
    assert result.threshold["method"] == "alert_budget"
    assert "validation slice" in result.threshold["chosen_on"]
    split = make_splits(prepared.frame, SPLIT)[0]
    detector, info = fit_on_split(prepared, split, GBM, ThresholdSpec(budget=30))
    train_rows = prepared.features.iloc[split.train]
    n_val = round(len(train_rows) * 0.2)
    days = prepared.frame["ts"].iloc[split.train].iloc[-n_val:].dt.floor("D").nunique()
    assert (detector.score_many(train_rows.iloc[-n_val:]) >= info["value"]).sum() <= 30 * days


def test_same_seed_same_model_and_scores(tmp_path):
    runs = [train(SOURCE, "handbook", SPLIT, GBM, out=tmp_path / f"model{i}") for i in range(2)]
    hashes = [registry.read_metadata(run.folder)["files"] for run in runs]
    assert hashes[0] == hashes[1]
    test = runs[0].prepared.features.iloc[make_splits(runs[0].prepared.frame, SPLIT)[0].test]
    np.testing.assert_array_equal(runs[0].detector.score_many(test), runs[1].detector.score_many(test))
    # the saved model scores the same again, from its folder
    again = evaluate_model(runs[0].folder)
    assert again.metrics["ap"] == runs[0].result.metrics["ap"]


def test_shuffled_training_labels_drop_ap_to_prevalence(prepared):
    frame = prepared.frame
    split = make_splits(frame, SPLIT)[0]
    real = evaluate_on_split(prepared, split, *fit_on_split(prepared, split, GBM))
    prevalence = real.metrics["prevalence"]
    shuffled_aps = []
    for seed in (1, 2, 3):
        noise = frame.assign(is_fraud=np.random.default_rng(seed).permutation(frame["is_fraud"].to_numpy()))
        # labels shuffled everywhere the model could learn them: its own y and the engine's label path
        features = build_feature_set(noise, "handbook", label_delay=pd.Timedelta(days=7))
        shuffled = Prepared(prepared.data, frame, features, "handbook")
        detector, info = fit_on_split(shuffled, split, GBM, shuffle_labels_seed=seed)
        shuffled_aps.append(evaluate_on_split(shuffled, split, detector, info).metrics["ap"])
    assert real.metrics["ap"] > 5 * prevalence
    assert np.mean(shuffled_aps) < 1.5 * prevalence


def test_prequential_folds_are_reported(prepared):
    run = train(
        prepared, "handbook", SplitSpec("prequential", train_days=7, delay_days=7, test_days=3, folds=2), GBM
    )
    folds = run.result.context["folds"]
    assert [f["fold"] for f in folds] == [0, 1, "mean"]
    assert folds[-1]["ap"] == pytest.approx(run.mean("ap"))
    assert folds[0]["test_start"] > folds[1]["test_start"]
