"""`fraudstream serve`, `fraud-stream-server` and `stream-server` as subprocesses, read by the seed's
own client loops (systems.md §000.12): real sockets on 127.0.0.1, free ports, bounded time."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest

from fraudstream.stream.testing import free_port_pair, wait_for_port

BIN = Path(sys.executable).parent


@contextmanager
def server_process(args: list[str], tmp_path: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    out, err = (tmp_path / "stdout.txt").open("wb"), (tmp_path / "stderr.txt").open("wb")
    process = subprocess.Popen(args, stdout=out, stderr=err)
    try:
        try:
            wait_for_port(port, process, what=Path(args[0]).name, timeout_s=30)
        except RuntimeError as error:
            raise AssertionError(f"{error}\n{(tmp_path / 'stderr.txt').read_text()}") from None
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        out.close()
        err.close()


def seed_stream_client(port: int, n: int) -> tuple[dict, list[dict]]:
    """stream_client.py's connect_and_stream loop, line for line, for ``n`` transactions."""
    client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client_socket.settimeout(20)  # the seed sets none; a bound for the test
    client_socket.connect(("127.0.0.1", port))
    buffer = ""
    welcome: dict = {}
    transactions: list[dict] = []
    try:
        while len(transactions) < n:
            data = client_socket.recv(4096).decode("utf-8")
            if not data:
                break
            buffer += data
            lines = buffer.split("\n")
            buffer = lines[-1]
            for line in lines[:-1]:
                if line.strip():
                    message = json.loads(line)
                    if message.get("type") == "connection":
                        welcome = message
                        continue
                    # format_transaction and the statistics read exactly these fields
                    _ = (message["transactionID"], message["userID"], message["amount"],
                         message["itemID"], message["timestamp"])
                    # stream_client_visual.process_transaction
                    datetime.strptime(message["timestamp"], "%Y-%m-%dT%H:%M:%S")
                    assert "T" in message["timestamp"]
                    transactions.append(message)
    finally:
        client_socket.close()
    return welcome, transactions


def test_the_seed_clients_read_fraudstream_serve_with_default_flags(tmp_path: Path) -> None:
    port = free_port_pair()
    with server_process([str(BIN / "fraudstream"), "serve", "--port", str(port)], tmp_path, port) as process:
        welcome, transactions = seed_stream_client(port, 3)
        assert process.poll() is None
    assert welcome["type"] == "connection"
    assert welcome["message"] == "Connected to fraud detection training stream"
    assert welcome["totalUsers"] == 25 and len(welcome["profileTypes"]) == 20
    assert list(welcome) == ["type", "message", "timestamp", "totalUsers", "profileTypes"]
    datetime.strptime(welcome["timestamp"], "%Y-%m-%dT%H:%M:%S")
    ids = [tx["transactionID"] for tx in transactions]
    assert ids == list(range(ids[0], ids[0] + 3))
    for tx in transactions:
        assert list(tx)[:11] == ["transactionID", "userID", "amount", "timestamp", "itemID", "merchantID",
                                 "isWeekend", "hourOfDay", "daysSinceLastTransaction", "userProfile",
                                 "isFraud"]
        assert tx["userID"] in range(1, 26) and isinstance(tx["amount"], float)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_stop_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    port = free_port_pair()
    args = [str(BIN / "fraudstream"), "serve", "--port", str(port), "--rate", "50", "--seed", "3"]
    with server_process(args, tmp_path, port) as process:
        client = socket.create_connection(("127.0.0.1", port), timeout=10)
        assert client.recv(4096).startswith(b'{"type": "connection"')
        process.send_signal(sig)
        code = process.wait(15)
        rest = b""
        while chunk := client.recv(65536):
            rest += chunk
        client.close()
    stderr = (tmp_path / "stderr.txt").read_text()
    assert code == 0, stderr
    assert "Traceback" not in stderr and "Error" not in stderr
    assert "Server stopped" in (tmp_path / "stdout.txt").read_text()
    assert rest == b"" or rest.endswith(b"\n")  # the stream ends on a whole line


def test_a_taken_port_gives_one_line_and_exit_code_1(tmp_path: Path) -> None:
    with socket.socket() as occupier:
        occupier.bind(("127.0.0.1", 0))
        occupier.listen()
        port = occupier.getsockname()[1]
        result = subprocess.run(
            [str(BIN / "fraudstream"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert f"port {port} on 127.0.0.1 is in use (another fraudstream serve?)" in lines[0]
    assert f"--port {port + 2}" in lines[0]


def test_fraud_stream_server_entry_point(tmp_path: Path) -> None:
    port = free_port_pair()
    args = [str(BIN / "fraud-stream-server"), "--host", "127.0.0.1", "--port", str(port),
            "--interval", "0.05"]
    with server_process(args, tmp_path, port) as process:
        welcome, transactions = seed_stream_client(port, 5)
        process.send_signal(signal.SIGINT)
        assert process.wait(15) == 0
    banner = (tmp_path / "stdout.txt").read_text()
    assert "FRAUD DETECTION TRAINING STREAM SERVER" in banner and "Base Interval: 0.05 seconds" in banner
    assert welcome["message"] == "Connected to fraud detection training stream"
    assert all("isFraud" in tx for tx in transactions)


def test_stream_server_entry_point_sends_the_basic_stream(tmp_path: Path) -> None:
    port = free_port_pair()
    args = [str(BIN / "stream-server"), "--host", "127.0.0.1", "--port", str(port), "--interval", "0.05"]
    with server_process(args, tmp_path, port) as process:
        welcome, transactions = seed_stream_client(port, 5)
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
    assert list(welcome) == ["type", "message", "timestamp"]
    assert welcome["message"] == "Connected to data stream server"
    for tx in transactions:
        assert list(tx) == ["transactionID", "userID", "amount", "timestamp", "itemID"]
        assert tx["userID"] in range(1, 101) and 5.0 <= tx["amount"] <= 500.0
        assert tx["itemID"][0] in "ECBDF" and 1000 <= int(tx["itemID"][1:]) <= 9999
