"""docs/classroom.md: every `bash` and `python` block of the guide is run here.

The test parses the guide's code blocks. Each bash line is one command; it is run with
``INSTRUCTOR_IP`` -> ``127.0.0.1``, ``--host 0.0.0.0`` -> ``--host 127.0.0.1`` (loopback only)
and the guide's port numbers (given, or the default 5555) mapped to free ports: client commands talk to one
``fraudstream serve --labels delayed:0.3`` started for the test, server commands get fresh
ports. Long-running commands get Ctrl-C (SIGINT) after a few seconds and must exit 0 without
a traceback, with the output the guide promises. ``text`` blocks hold platform commands
(Windows, macOS, firewall with sudo) that cannot run on the Linux test machine; they are listed
in ``NOT_RUN_HERE`` so that a new command in the guide cannot go unnoticed.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

from fraudstream.stream.testing import free_port_pair, serve_subprocess

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "classroom.md"
BIN = Path(sys.executable).parent

NOT_RUN_HERE = {
    "ipconfig getifaddr en0": "macOS only",
    "ipconfig": "Windows only",
    "sudo ufw allow 5555/tcp && sudo ufw allow 5556/tcp": "needs root and ufw (Linux firewall)",
    "New-NetFirewallRule -DisplayName fraudstream -Direction Inbound -Protocol TCP -LocalPort 5555,5556 "
    "-Action Allow": "Windows PowerShell as administrator",
}


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(), flags=re.S)


def commands(language: str) -> list[str]:
    lines = []
    for block in blocks(language):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


BASH = commands("bash")

pytestmark = pytest.mark.slow  # about a minute: each client command runs for a few seconds


@pytest.fixture(scope="module")
def server():
    with serve_subprocess("--rate", "20", "--seed", "11", "--labels", "delayed:0.3") as (port, process):
        http_port = int(re.search(r"--http-port', '(\d+)'", str(process.args)).group(1))
        yield port, http_port


def client_command(line: str, port: int, http_port: int) -> list[str]:
    line = line.replace("INSTRUCTOR_IP", "127.0.0.1").replace(":5556", f":{http_port}")
    line = re.sub(r"\b(5555|5557)\b", str(port), line)
    argv = shlex.split(line)
    if "--host" in argv and "--port" not in argv:  # the default port 5555, mapped
        argv += ["--port", str(port)]
    return argv


def executable(argv: list[str]) -> list[str]:
    if argv[0] == "python":
        return [sys.executable, *argv[1:]]
    if (BIN / argv[0]).exists():
        return [str(BIN / argv[0]), *argv[1:]]
    return argv


def clients_connected(http_port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/health", timeout=5) as response:
        return int(json.loads(response.read())["clients"])


def run_interrupted(argv: list[str], *, http_port: int | None = None, settle_s: float = 2.0,
                    limit_s: float = 60.0) -> tuple[int, str, str]:
    """Run; once it is connected to the test server (its ``/health`` client count grew) or, without
    a server, after ``settle_s``, give it ``settle_s`` more, then Ctrl-C unless it ended."""
    baseline = clients_connected(http_port) if http_port is not None else 0
    process = subprocess.Popen(executable(argv), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=_no_display())
    deadline = time.monotonic() + limit_s
    while http_port is not None and process.poll() is None and time.monotonic() < deadline:
        if clients_connected(http_port) > baseline:
            break
        time.sleep(0.1)
    try:
        out, err = process.communicate(timeout=settle_s)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    return process.returncode, out, err


def _no_display() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}


def test_every_command_of_the_guide_is_known():
    texts = commands("text")
    assert texts == list(NOT_RUN_HERE), "a platform command changed: update NOT_RUN_HERE"
    known = ("pip install", "fraudstream ", "fraud-stream-server", "hostname -I", "stream-client", "curl ",
             "python docs/examples/fraud_detector_client.py")
    assert BASH and all(line.startswith(known) for line in BASH), BASH
    assert len(blocks("python")) == 2


def test_install_command_names_a_real_extra():
    (line,) = [c for c in BASH if c.startswith("pip install")]
    extra = re.search(r"fraudstream\[(\w+)\]", line).group(1)
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(dep.startswith("matplotlib==") for dep in extras[extra])
    import matplotlib  # installed, as the test extra requires

    assert matplotlib.__version__


SERVER_COMMANDS = [c for c in BASH if c.startswith(("fraudstream serve", "fraud-stream-server"))]


@pytest.mark.parametrize("line", SERVER_COMMANDS)
def test_server_commands(line):
    port = free_port_pair()
    argv = shlex.split(line.replace("--host 0.0.0.0", "--host 127.0.0.1"))
    argv = [str(port) if a in ("5555", "5557") else a for a in argv]
    if "--port" not in argv:
        argv += ["--port", str(port)]
    process = subprocess.Popen(executable(argv), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        welcome = _first_line(port)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert json.loads(welcome)["type"] == "connection"
    assert process.returncode == 0, err
    assert "Traceback" not in err


def _first_line(port: int) -> str:
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                return sock.makefile("r", encoding="utf-8").readline()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_hostname_command():
    (line,) = [c for c in BASH if c.startswith("hostname")]
    result = subprocess.run(shlex.split(line), capture_output=True, text=True, timeout=10)
    assert result.returncode == 0
    assert re.search(r"\d+\.\d+\.\d+\.\d+|[0-9a-f:]{3,}", result.stdout)


def test_curl_health(server):
    port, http_port = server
    (line,) = {c for c in BASH if c.startswith("curl")}
    result = subprocess.run(client_command(line, port, http_port), capture_output=True, text=True, timeout=20)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "healthy"


EXPECTED = {
    "fraudstream demo": ["Last ", " transactions", "Statistics"],
    "fraudstream watch --visual": ["Open http://127.0.0.1:", "disconnected."],
    "fraudstream watch": ["Statistics", "Total Transactions"],
    "stream-client-visual": ["VISUAL DATA STREAM CLIENT", "Client ID: YourName", "Max Records: 100"],
    "stream-client": ["DATA STREAM CLIENT", "Connected as YourName", "Transaction #", "📊 STATISTICS:"],
    "python docs/examples/fraud_detector_client.py": ["Connected as YourName", "YourName disconnected.",
                                                       "YourName: "],
}


@pytest.mark.parametrize("line", [c for c in BASH if c.startswith(tuple(EXPECTED))
                                  and not c.startswith("fraudstream serve")])
def test_client_commands(line, server):
    port, http_port = server
    own_server = line.startswith("fraudstream demo")  # the demo starts its own: give it time to start
    code, out, err = run_interrupted(client_command(line, port, http_port),
                                     http_port=None if own_server else http_port,
                                     settle_s=12.0 if own_server else 2.5)
    assert code == 0, err
    assert "Traceback" not in err
    expected = next(v for k, v in EXPECTED.items() if line.startswith(k))
    for text in expected:
        assert text in out + err, (text, out[-2000:], err[-2000:])
    if "--labels" in line and "watch" in line:
        assert re.search(r"[1-9]\d* labels \(", out + err)


@pytest.mark.parametrize("index", [0, 1])
def test_python_blocks(index, server):
    port, http_port = server
    code = client_command(blocks("python")[index], port, http_port)
    source = blocks("python")[index].replace("INSTRUCTOR_IP", "127.0.0.1").replace("5555", str(port))
    assert code  # the block is not empty
    exit_code, out, err = run_interrupted(["python", "-c", source], http_port=http_port)
    assert exit_code == 0, err
    assert "Traceback" not in err
    if index == 0:
        assert "Connected as YourName" in out and "YourName disconnected." in out
    else:
        first = out.split()
        assert len(first) == 2 and int(first[0]) > 0 and float(first[1]) > 0
