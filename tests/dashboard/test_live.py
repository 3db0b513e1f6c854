"""The live push: an SSE client sees the aggregates change when transactions are stored."""

from __future__ import annotations

import json
import time

from fraudstream.dashboard.sample import decide, sample_frame
from fraudstream.store import open_store


def events(lines, until, timeout_s=15.0):
    """Parse SSE ``summary`` events until ``until(summary)`` is true."""
    deadline = time.monotonic() + timeout_s
    seen = []
    for line in lines:
        if line.startswith("data: "):
            summary = json.loads(line[6:])
            seen.append(summary)
            if until(summary):
                return seen
        assert time.monotonic() < deadline, f"no matching summary in {timeout_s} s; last {seen[-1:]}"
    raise AssertionError("the event stream ended")


def test_live_events_follow_the_store(sqlite_served):
    client = sqlite_served.client("vic")
    with client.stream("GET", "/live/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        first = events(lines, lambda s: True)[0]
        assert first["total"] == 3000
        frame = sample_frame(400, seed=9, first_id=10_001)
        decisions, alerts = decide(frame, threshold=0.5)
        with open_store(sqlite_served.store_url) as store:
            store.write_transactions(frame)
            store.write_decisions(decisions)
            store.write_alerts(alerts)
        seen = events(
            lines, lambda s: s["total"] == 3400 and s["alerts_total"] == first["alerts_total"] + len(alerts)
        )
    last = seen[-1]
    assert last["statistics"]["transactions"] == 400
    assert abs(last["statistics"]["total_amount"] - round(frame["amount"].sum(), 2)) < 0.01
    assert [row["tx_id"] for row in last["table"]][:3] == frame["tx_id"].astype(str).tolist()[::-1][:3]
    assert sum(last["series"]["tx"]) == 400 and sum(last["histogram"]["counts"]) == 100
    assert last["counted_until"] > first["counted_until"]
