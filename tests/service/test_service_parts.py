"""The service's parts: batching, decoding and dead letters, decisions, alerts, budget, webhook,
late labels and prequential metrics."""

from __future__ import annotations

import io
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, precision_score, recall_score

from fraudstream.service.alerts import AlertBudget, ConsoleAlerts, NdjsonAlerts, WebhookAlerts, alert_records
from fraudstream.service.batcher import Batcher
from fraudstream.service.deadletter import DeadLetters
from fraudstream.service.decisions import Decider, Featurizer, load_model
from fraudstream.service.labels import PrequentialMetrics, RecentDecisions
from fraudstream.service.sources import LineFileSource, StdinSource, TcpSource
from tests.service.service_helpers import (
    model_dir_fixture,  # noqa: F401 - fixtures
    stream_lines,
    world_frame,
    write_stream,
)


def test_batches_are_cut_at_the_size(tmp_path: Path) -> None:
    path = write_stream(tmp_path / "s.ndjson", stream_lines(world_frame(2500)))
    with LineFileSource(path, batch_size=1000, max_wait_s=30) as source:
        sizes = [len(b) for b in source.batches()]
    assert sizes == [1000, 1000, 500]


def test_batches_are_cut_at_the_max_wait_on_a_quiet_socket() -> None:
    """A server sends 5 lines, then nothing: the batch of 5 comes after max_wait, not at 1000 rows."""
    lines = b"".join(stream_lines(world_frame(5)))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    release = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        conn.sendall(b'{"type": "connection", "message": "hi"}\n' + lines)
        release.wait(10)
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    with TcpSource(f"127.0.0.1:{port}", batch_size=1000, max_wait_s=0.05, labels=False) as source:
        batches = source.batches()
        first = next(b for b in batches if len(b))
        release.set()
    listener.close()
    assert len(first) == 5 and first.frame["tx_id"].tolist() == [1, 2, 3, 4, 5]


def test_batcher_bounds_by_size_and_wait() -> None:
    now = [0.0]
    batcher: Batcher[int] = Batcher(max_rows=3, max_wait_s=0.05, clock=lambda: now[0])
    assert batcher.add([1, 2, 3, 4]) == [[1, 2, 3]]
    now[0] = 0.04
    assert not batcher.expired()
    now[0] = 0.051
    assert batcher.expired() and batcher.cut() == [4]
    assert batcher.time_left() is None


def test_malformed_lines_are_dead_lettered_and_the_stream_goes_on(tmp_path: Path) -> None:
    good = stream_lines(world_frame(6))
    bad = [
        b'{"transactionID": 7, "userID": 1\n',
        b"[1, 2]\n",
        b'{"transactionID": 8, "userID": 1, "amount": "x", '
        b'"timestamp": "2024-01-01T00:00:00", "itemID": "A1"}\n',
        b'{"transactionID": 9, "userID": 1, "amount": 5.0, "timestamp": "not a time", "itemID": "A1"}\n',
        b'{"transactionID": 10, "amount": 5.0}\n',
    ]
    path = write_stream(tmp_path / "s.ndjson", good[:3] + bad + good[3:])
    letters = DeadLetters(tmp_path / "dead.ndjson")
    with LineFileSource(path, batch_size=100) as source:
        batches = list(source.batches())
    for batch in batches:
        letters.extend(batch.dead)
    letters.close()
    assert [tx for b in batches for tx in b.frame["tx_id"].tolist()] == [1, 2, 3, 4, 5, 6]
    written = [json.loads(line) for line in (tmp_path / "dead.ndjson").read_text().splitlines()]
    assert [w["reason"].split(":")[0] for w in written] == [
        "not JSON",
        "not an object",
        "bad value",
        "bad value",
        "missing field",
    ]
    assert "amount must be a number" in written[2]["reason"] and "userID" in written[4]["reason"]
    assert written[0]["line"].startswith('{"transactionID": 7') and letters.count == 5


def test_stdin_source_reads_ndjson_lines() -> None:
    data = io.BytesIO(b"".join(stream_lines(world_frame(3))))
    with StdinSource(data, batch_size=2) as source:
        assert [b.frame["tx_id"].tolist() for b in source.batches() if len(b)] == [[1, 2], [3]]


def test_decisions_carry_score_verdict_version_and_reasons(model_dir: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"id": "big", "feature": "amount", "op": ">", "value": 500, "score": 0.9}]))
    from fraudstream.service.decisions import load_rules

    detector, version = load_rules(rules)
    decider = Decider(load_model(model_dir), detector, version)
    frame = world_frame(400).drop(columns=["is_fraud", "fraud_pattern"])
    decisions = decider.decide(frame, Featurizer("handbook").transform(frame))
    assert list(decisions["tx_id"]) == list(frame["tx_id"])
    assert set(decisions["verdict"]) <= {"fraud", "legit"} and decisions["score"].notna().all()
    assert (decisions["model_version"] == "v1+rules").all()
    reasons = [json.loads(r) for r in decisions["reasons"]]
    assert all(1 <= len(r) <= 3 for r in reasons)
    big = (frame["amount"] > 500).to_numpy()
    assert big.any() and all(
        r[0] == {"name": "big", "weight": 0.9, "by": "rules"} for r, b in zip(reasons, big, strict=True) if b
    )
    assert (decisions.loc[big, "verdict"] == "fraud").all()
    assert all(x["by"] == "model" for r, b in zip(reasons, big, strict=True) if not b for x in r)


def _alerts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "tx_id": [41, 42],
            "ts": pd.to_datetime(["2024-01-01T10:00", "2024-01-01T11:00"], utc=True),
            "customer_id": [14, 3],
            "amount": [999.0, 1234.5],
            "score": [0.972, 3.5],
            "verdict": ["fraud", "fraud"],
            "model_version": ["v1", "v1"],
            "reasons": ['[{"name": "round_amount", "weight": 1.0, "by": "rules"}]', "[]"],
            "pattern": ["round_amount", None],
        }
    )


def test_console_block_is_the_course_fraud_alert() -> None:
    out = io.StringIO()
    ConsoleAlerts(out).emit(alert_records(_alerts()))
    assert out.getvalue() == (
        "🚨 FRAUD ALERT 🚨\nTransaction ID: 41\nUser ID: 14\nAmount: $999.00\nConfidence: 97.20%\n"
        "Pattern: round_amount\n\n"
        "🚨 FRAUD ALERT 🚨\nTransaction ID: 42\nUser ID: 3\nAmount: $1,234.50\nConfidence: score 3.5\n"
        "Pattern: model score\n\n"
    )


def test_ndjson_alerts(tmp_path: Path) -> None:
    sink = NdjsonAlerts(tmp_path / "alerts.ndjson")
    sink.emit(alert_records(_alerts()))
    sink.close()
    rows = [json.loads(line) for line in (tmp_path / "alerts.ndjson").read_text().splitlines()]
    assert [r["tx_id"] for r in rows] == [41, 42]
    assert rows[0]["reasons"] == [{"name": "round_amount", "weight": 1.0, "by": "rules"}]
    assert rows[0]["ts"] == "2024-01-01T10:00:00.000000Z" and rows[1]["model_version"] == "v1"


def test_webhook_retries_after_a_server_error() -> None:
    received: list[dict] = []
    calls = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            calls.append(1)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if len(calls) == 1:
                self.send_response(503)
                self.end_headers()
                return
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        hook = WebhookAlerts(
            f"http://127.0.0.1:{server.server_port}/alerts", timeout_s=2, retries=3, backoff_s=0.01
        )
        hook.emit(alert_records(_alerts()))
        hook.close()
    finally:
        server.shutdown()
        server.server_close()
    assert len(calls) == 2 and hook.sent == 2 and hook.failed == 0
    assert [a["tx_id"] for a in received[0]["alerts"]] == [41, 42]


def test_webhook_gives_up_after_its_retries() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once closed
    hook = WebhookAlerts(f"http://127.0.0.1:{port}/", timeout_s=0.5, retries=2, backoff_s=0.01)
    hook.emit(alert_records(_alerts()))
    hook.close()
    assert hook.attempts == 3 and hook.failed == 2 and hook.sent == 0


def test_alert_budget_caps_per_day_and_survives_a_restart() -> None:
    ts = pd.Series(pd.to_datetime(["2024-01-01T01:00"] * 5 + ["2024-01-02T01:00"] * 2, utc=True))
    budget = AlertBudget(per_day=3)
    assert budget.admit(ts.iloc[:4]).tolist() == [True, True, True, False]
    again = AlertBudget(per_day=3)
    again.restore(budget.state())
    assert again.admit(ts.iloc[4:]).tolist() == [False, True, True]
    assert again.over_budget == 2 and again.used == {"2024-01-01": 3, "2024-01-02": 2}
    with pytest.raises(ValueError, match="alert-budget must be >= 0"):
        AlertBudget(-1)


def test_late_labels_join_and_metrics_equal_a_recomputation() -> None:
    rng = np.random.default_rng(3)
    n = 5000
    ids = np.arange(n)
    scores = rng.random(n)
    y = rng.random(n) < 0.1 + 0.5 * scores * (scores > 0.8)
    predicted = scores > 0.7
    alerted = predicted & (rng.random(n) < 0.8)
    recent = RecentDecisions(capacity=n)
    metrics = PrequentialMetrics(window=2000)
    for start in range(0, n, 500):
        part = slice(start, start + 500)
        recent.add(ids[part], scores[part], predicted[part], alerted[part])
        lag = slice(max(0, start - 1000), max(0, start - 500))  # labels arrive 1000 rows late, shuffled
        order = rng.permutation(np.arange(lag.start, lag.stop))
        metrics.update(recent.join(pd.DataFrame({"tx_id": ids[order], "is_fraud": y[order]})))
    is_fraud, score, pred, alert = metrics.arrays()
    assert len(is_fraud) == 2000
    snap = metrics.snapshot()
    assert snap["precision"] == pytest.approx(precision_score(is_fraud, pred))
    assert snap["recall"] == pytest.approx(recall_score(is_fraud, pred))
    assert snap["ap"] == pytest.approx(average_precision_score(is_fraud, score))
    assert snap["alert_precision"] == pytest.approx(is_fraud[alert].mean())
    # the window holds exactly the last 2000 labels given, joined to their own decisions
    joined_ids = np.concatenate([np.arange(max(0, s - 1000), max(0, s - 500)) for s in range(0, n, 500)])
    assert np.array_equal(np.sort(score), np.sort(scores[joined_ids[-2000:]]))


def test_labels_before_their_decision_wait() -> None:
    recent = RecentDecisions(capacity=10)
    assert len(recent.join(pd.DataFrame({"tx_id": [5], "is_fraud": [True]}))) == 0 and recent.pending == 1
    recent.add(np.array([5]), np.array([0.4]), np.array([False]), np.array([False]))
    joined = recent.join(
        pd.DataFrame({"tx_id": pd.Series([], dtype=object), "is_fraud": pd.Series([], dtype=bool)})
    )
    assert joined.tx_id.tolist() == [5] and joined.is_fraud.tolist() == [True] and recent.pending == 0
