"""``/health`` and ``/metrics`` of a running detector, scraped over real HTTP while it decides,
and ``detect --http-port`` end to end."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from fraudstream.errors import ConfigError
from fraudstream.service.decisions import Decider, Featurizer, load_model
from fraudstream.service.observe import StatusServer
from fraudstream.service.runtime import DetectionService
from fraudstream.service.sink import StoreSink
from fraudstream.service.sources import LineFileSource
from fraudstream.store import open_store
from fraudstream.stream.testing import free_port
from tests.service.service_helpers import drop_schema, model_dir_fixture, stream_lines, world_frame, write_stream
from tests.store.store_proxy import Proxy
from tests.support import require_service

__all__ = ["model_dir_fixture"]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_and_health_follow_the_running_service(model_dir: Path, tmp_path: Path) -> None:
    frame = world_frame(3000)
    path = write_stream(tmp_path / "s.ndjson", stream_lines(frame, labels="delayed", every=100))
    model = load_model(model_dir)
    url = f"sqlite:///{tmp_path / 'detect.db'}"
    source = LineFileSource(path, batch_size=200, rate=6000)
    service = DetectionService(
        source, Decider(model), Featurizer(model.feature_set),
        sink=StoreSink(lambda: open_store(url)), metrics_every_s=0.05,
    )
    with StatusServer(service) as server:
        base = f"http://{server.host}:{server.port}"
        runner = threading.Thread(target=service.run)
        runner.start()
        try:
            seen = []
            while runner.is_alive():
                status, text = _get(f"{base}/metrics")
                assert status == 200
                seen.append(_samples(text)[("fraudstream_detect_transactions_total", ())])
                time.sleep(0.05)
        finally:
            runner.join(60)
        assert seen == sorted(seen) and len(set(seen)) > 1  # scraped while it ran: counters only grow
        samples = _samples(_get(f"{base}/metrics")[1])
        status, body = _get(f"{base}/health")
        missing_status, _ = _get(f"{base}/nothing")
    summary = service.summary
    assert samples[("fraudstream_detect_transactions_total", ())] == summary.processed == 3000
    assert samples[("fraudstream_detect_labels_joined_total", ())] == summary.joined == 3000
    assert samples[("fraudstream_detect_alerts_total", ())] == summary.alerts
    assert samples[("fraudstream_store_rows_total", ())] == 3000
    assert samples[("fraudstream_store_up", ())] == 1.0
    assert samples[("fraudstream_detect_window", (("metric", "recall"),))] == pytest.approx(summary.metrics["recall"])
    cpu = {k[1][0][1]: v for k, v in samples.items() if k[0] == "fraudstream_detect_stage_cpu_seconds_total"}
    assert cpu == pytest.approx(summary.stages.cpu_seconds) and cpu["features"] > 0
    assert samples[("fraudstream_detect_model_info", (("version", model.version),))] == 1.0
    health = json.loads(body)
    assert status == 200 and health["status"] == "ok" and health["decided"] == 3000
    assert health["stored"] == 3000 and health["model_version"] == model.version
    assert health["position"] == path.stat().st_size and missing_status == 404


def test_health_reports_a_failed_store_with_503(model_dir: Path, tmp_path: Path) -> None:
    host, port = require_service("postgresql")
    proxy = Proxy((host, port)).start()
    url = f"postgresql://postgres@127.0.0.1:{proxy.port}/test?schema=fs_observe&connect_timeout=1"
    path = write_stream(tmp_path / "s.ndjson", stream_lines(world_frame(4000, seed=3)))
    model = load_model(model_dir)
    service = DetectionService(
        LineFileSource(path, batch_size=200, rate=2000), Decider(model), Featurizer(model.feature_set),
        sink=StoreSink(lambda: open_store(url), retry_for_s=0.5),
    )
    failed: list[BaseException] = []

    def run() -> None:
        try:
            service.run()
        except Exception as error:  # the store's failure ends run(); the test reads it
            failed.append(error)

    with StatusServer(service) as server:
        runner = threading.Thread(target=run)
        try:
            runner.start()
            while not service.sink.commits:
                assert runner.is_alive(), failed
                time.sleep(0.01)
            proxy.stop()
            runner.join(60)
            status, body = _get(f"http://{server.host}:{server.port}/health")
            samples = _samples(_get(f"http://{server.host}:{server.port}/metrics")[1])
        finally:
            proxy.close()
            drop_schema(f"postgresql://postgres@{host}:{port}/test?schema=fs_observe")
    health = json.loads(body)
    assert failed and status == 503 and health["status"] == "failing"
    assert "unreachable" in health["store_failure"] and samples[("fraudstream_store_up", ())] == 0.0


def test_detect_serves_health_and_metrics(model_dir: Path, tmp_path: Path) -> None:
    path = write_stream(tmp_path / "s.ndjson", stream_lines(world_frame(2000)))
    port = free_port()
    command = [
        sys.executable, "-m", "fraudstream", "detect", "--source", f"file:{path}", "--rate", "1000",
        "--model", str(model_dir), "--quiet", "--http-port", str(port),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/health")
                break
            except OSError:  # not listening yet
                assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
                time.sleep(0.1)
        status_m, text = _get(f"http://127.0.0.1:{port}/metrics")
    finally:
        process.terminate()
        _, err = process.communicate(30)
    assert status == 200 and json.loads(body)["status"] == "ok"
    assert status_m == 200 and ("fraudstream_detect_transactions_total", ()) in _samples(text)
    assert "detect stopped" in err.decode()


def test_a_busy_port_is_a_clear_error(model_dir: Path, tmp_path: Path) -> None:
    model = load_model(model_dir)
    service = DetectionService(
        LineFileSource(write_stream(tmp_path / "s.ndjson", [])), Decider(model), Featurizer(model.feature_set)
    )
    with StatusServer(service) as first, pytest.raises(ConfigError) as error:
        StatusServer(service, port=first.port)
    assert f"--http-port {first.port}" in str(error.value) and "cannot listen on 127.0.0.1" in str(error.value)
