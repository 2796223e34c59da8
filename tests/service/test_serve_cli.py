"""`cxflow serve`: the real command in a subprocess, and its usage errors in process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from service_support import client

from cxflow.cli import main
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.service import _redacted  # pyright: ignore[reportPrivateUsage]
from cxflow.sql_store import SqlStore


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_ready(base_url: str, server: subprocess.Popen[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx2.Client(base_url=base_url, timeout=1, trust_env=False) as http:
        while time.monotonic() < deadline:
            assert server.poll() is None, f"cxflow serve exited: {server.communicate()[1]}"
            try:
                if http.get("/healthz").status_code == 200:
                    return
            except httpx2.TransportError:
                time.sleep(0.05)
    raise AssertionError(f"cxflow serve did not answer within {timeout_s} s")


def test_cxflow_serve_runs_a_whole_conversation_over_http(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    port, db = free_port(), tmp_path / "served.db"
    env = {**os.environ, "CXFLOW_API_TOKEN": "cli-token"}
    env.pop("CXFLOW_API_TOKENS_FILE", None)
    # start-up is mostly compiling FastAPI and SQLAlchemy; where bytecode writing is off, let
    # the server keep its bytecode outside the source tree so later runs start faster
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.getbasetemp().parent / "pycache")
    command = [sys.executable, "-m", "cxflow.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--db", str(db), "--flow", "plan_upgrade"]
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_ready(base, server, timeout_s=60)
        with client(base, token=None) as anonymous:
            assert anonymous.get("/v1/sessions/x").status_code == 401
        with client(base, token="cli-token") as http:
            assert http.get("/docs").status_code == 200
            session = http.post("/v1/sessions", json={"flow": "plan_upgrade"}).json()
            sid = session["session_id"]
            turns = [
                http.post(f"/v1/sessions/{sid}/turns", json={"text": line}).json()
                for line in PlanUpgrade.example
            ]
            final = http.get(f"/v1/sessions/{sid}").json()
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=20)
    assert [t["done"] for t in turns] == [False, False, False, True]
    assert (final["state"], final["outcome"], final["version"]) == ("changed", "completed", 4)
    assert "cxflow serve: 1 flows" in stderr and f"http://127.0.0.1:{port}/docs" in stderr
    assert "cli-token" not in stderr
    assert len(SqlStore(db).turns(sid)) == 4  # the conversation is in the --db file


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


@pytest.fixture(autouse=True)
def no_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CXFLOW_API_TOKEN", raising=False)
    monkeypatch.delenv("CXFLOW_API_TOKENS_FILE", raising=False)


def test_serve_without_a_token_refuses_to_start_and_says_how(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, err = run(capsys, "serve")
    assert code == 2
    assert err.startswith("cxflow: error: set CXFLOW_API_TOKEN")
    assert "--tokens FILE" in err and "--no-auth" in err


def test_serve_with_no_auth_and_a_token_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CXFLOW_API_TOKEN", "t")
    code, err = run(capsys, "serve", "--no-auth")
    assert code == 2 and "drop one of them" in err


def test_serve_with_an_unknown_flow_lists_the_flows(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CXFLOW_API_TOKEN", "t")
    code, err = run(capsys, "serve", "--flow", "plan_upgrad")
    assert code == 2 and "unknown flow 'plan_upgrad'" in err and "plan_upgrade" in err


def test_serve_on_a_port_in_use_says_so_and_no_auth_warns_loudly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        args = ("serve", "--port", port, "--db", str(tmp_path / "cx.db"), "--flow", "plan_upgrade")
        code, err = run(capsys, *args, "--no-auth", "--log-level", "critical")
    assert code == 1
    assert "WARNING: --no-auth: anyone who can reach this port" in err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "--port" in err


def test_the_start_up_line_hides_the_database_password() -> None:
    assert _redacted("postgresql+psycopg://cx:hunter2@db:5432/cx") == (
        "postgresql+psycopg://cx:***@db:5432/cx"
    )
    assert _redacted("postgresql+psycopg://cx@db/cx") == "postgresql+psycopg://cx@db/cx"
    assert _redacted("sqlite:///cx.db") == "sqlite:///cx.db"


@pytest.mark.parametrize(("hidden", "package"), [("fastapi", "fastapi"), ("uvicorn", "uvicorn")])
def test_serve_without_the_extra_names_the_install_command(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    hidden: str,
    package: str,
) -> None:
    monkeypatch.setenv("CXFLOW_API_TOKEN", "t")
    monkeypatch.setitem(sys.modules, hidden, None)  # what an install without the extra has
    monkeypatch.delitem(sys.modules, "cxflow.service")
    code, err = run(capsys, "serve")
    assert code == 1
    assert err == (
        f"cxflow: error: `cxflow serve` needs {package}. "
        "Install it with: pip install 'cxflow[serve]'\n"
    )
