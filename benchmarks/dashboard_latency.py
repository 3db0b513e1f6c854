"""Time every dashboard page and API call over a store with many transactions (target < 1 s each).

    .venv/bin/python benchmarks/dashboard_latency.py --rows 1000000 --db /tmp/dash-1m.db
    .venv/bin/python benchmarks/dashboard_latency.py --rows 1000000 \
        --store "postgresql://postgres@127.0.0.1:5432/test?schema=bench_dash"

The store is filled once with simulated sparkov transactions plus decisions and alerts of the
demo amount rule (fraudstream.dashboard.sample) and reused when it already holds enough rows.
Prints one line per call: best, median and worst of --repeat timings (seconds), client-side,
over loopback HTTP, the median CPU time of this process per call (the dashboard is served by
a thread of it; the client's share is small) and, on PostgreSQL, the median CPU time of the
server process behind the dashboard's request connection (read from /proc, so the server must
run on this machine), plus the load average before and after. Timing starts once the
dashboard's hourly rollup is built (the time that took is printed first).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from fraudstream.dashboard.app import DashboardConfig, create_app
from fraudstream.dashboard.sample import fill
from fraudstream.dashboard.users import add_user, user_count
from fraudstream.store import open_store

USER, PASSWORD = "bench", "bench-password"


def prepare(url: str, rows: int) -> None:
    with open_store(url) as store:
        have = store.count("transactions")
        if have < rows:
            started = time.perf_counter()
            fill(store, rows=rows, seed=11)
            print(
                f"filled {rows:,} transactions (+ decisions, alerts) "
                f"in {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
            )
        if not store._query(f"SELECT 1 FROM users WHERE name = {store.placeholder}", (USER,)):
            add_user(store, USER, PASSWORD, "admin")
        assert user_count(store) > 0
        customer = store.transactions(limit=1)["customer_id"].iloc[0]
        category = store._query("SELECT category FROM transactions WHERE category IS NOT NULL LIMIT 1")[0][0]
        alert = store._query("SELECT tx_id, kind FROM alerts WHERE status = 'open' LIMIT 1")[0]
    prepare.extra = (str(customer), str(category), alert)  # type: ignore[attr-defined]


def backend_cpu(app: object) -> float | None:
    """CPU seconds used so far by the PostgreSQL server process of the dashboard's request
    connection (None on SQLite, or when /proc does not show it)."""
    store = app.state.db.store  # type: ignore[attr-defined]
    if store.dialect != "postgresql":
        return None
    try:
        with open(f"/proc/{store.conn.info.backend_pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", default="/tmp/fraudstream-dashboard-bench.db")
    parser.add_argument("--store", default=None, help="store URL (default: SQLite at --db)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--exclude", default=None, help="skip calls whose path contains this text")
    args = parser.parse_args()
    url = args.store or f"sqlite:///{Path(args.db).resolve()}"
    prepare(url, args.rows)
    customer, category, (tx_id, kind) = prepare.extra  # type: ignore[attr-defined]
    app = create_app(DashboardConfig(store_url=url))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    started = time.perf_counter()
    while not app.state.db.rollup.ready(app.state.db):
        time.sleep(0.2)
    print(f"rollup ready after {time.perf_counter() - started:.1f} s", file=sys.stderr)
    calls = [
        "/live",
        "/alerts",
        "/explorer",
        f"/explorer?category={category}&amount_min=100&sort=amount",
        "/explorer?q=4242&status=alert",
        "/explorer?status=fraud",
        "/explorer?status=legit",
        "/explorer?status=unlabelled",
        "/explorer?page=500",
        f"/customer?id={customer}",
        "/patterns?window=24h",
        "/patterns?window=7d",
        "/patterns?window=all",
        "/model",
        "/docs",
        "/api/transactions",
        f"/api/transactions?customer={customer}",
        "/api/transactions?sort=amount&order=asc",
        "/api/transactions?status=unlabelled",
        "/api/kpis",
        "/api/live",
        "/api/alerts",
        f"/api/customers/{customer}",
        "/api/patterns?window=24h",
        "/api/model",
        "/api/users",
        "/openapi.json",
        f"/api/transactions.csv?customer={customer}",
    ]
    with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=120) as client:
        login = client.post("/api/login", json={"name": USER, "password": PASSWORD})
        login.raise_for_status()
        csrf = login.json()["csrf_token"]
        with open_store(url) as store:
            print(
                f"store: {store.describe()}, {store.count('transactions'):,} transactions, "
                f"{store.count('decisions'):,} decisions, {store.count('alerts'):,} alerts"
            )
        print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        print("   best  median   worst  cpu(median) pg-cpu(median)")
        worst_all = 0.0
        for path in calls:
            if args.exclude and args.exclude in path:
                print(f"skipped GET {path}")
                continue
            times, cpu, server_cpu = [], [], []
            for _ in range(args.repeat):
                server_started = backend_cpu(app)
                cpu_started, started = time.process_time(), time.perf_counter()
                answer = client.get(path, headers={"accept": "text/html"})
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
                server_done = backend_cpu(app)
                if server_started is not None and server_done is not None:
                    server_cpu.append(server_done - server_started)
                assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
            worst_all = max(worst_all, max(times))
            shown = f"{statistics.median(server_cpu):7.2f}" if server_cpu else "      -"
            print(
                f"{min(times):7.3f} {statistics.median(times):7.3f} {max(times):7.3f} "
                f"{statistics.median(cpu):7.3f}     {shown}  GET {path}",
                flush=True,
            )
        started = time.perf_counter()
        answer = client.post(
            f"/api/alerts/{tx_id}/{kind}/triage", json={"action": "escalate"}, headers={"X-CSRF-Token": csrf}
        )
        elapsed = time.perf_counter() - started
        assert answer.status_code == 200, answer.text
        worst_all = max(worst_all, elapsed)
        print(f"{elapsed:7.3f} s                        POST /api/alerts/{{tx_id}}/{{kind}}/triage")
        print(f"worst call: {worst_all:.3f} s (target < 1 s)")
        print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    server.should_exit = True
    thread.join(timeout=10)


if __name__ == "__main__":
    main()
