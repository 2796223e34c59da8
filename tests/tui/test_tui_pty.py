"""End to end: the real app in a pseudo-terminal, a live `plan_upgrade` conversation typed in."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from tui_data import PLAN_TURNS

from cxflow.sql_store import SqlStore

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="needs a pty"),
]


class Terminal:
    """A child process on an 80x24 pty; `expect` waits for text in its output."""

    def __init__(self, code: str) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
        env.pop("TEXTUAL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            close_fds=True,
            start_new_session=True,
        )
        os.close(slave)
        self.output = b""

    def expect(self, text: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        start = len(self.output)
        while text.encode() not in self.output[start:]:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} not shown; last output: {self.output[-600:]!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    break
        if text.encode() not in self.output[start:]:
            raise AssertionError(f"{text!r} not shown before the terminal closed")

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def drain(self) -> None:
        while True:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                return
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output += chunk

    def close(self, timeout: float = 10.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.drain()
        if self.proc.poll() is None:
            self.proc.kill()
        code = self.proc.wait()
        os.close(self.master)
        return code


def test_live_plan_upgrade_in_a_pty(tmp_path: Path) -> None:
    db = str(tmp_path / "pty.db")
    argv = ["tui", "plan_upgrade", "--db", db]
    code = f"import sys; from cxflow.cli import main; sys.exit(main({argv!r}))"
    term = Terminal(code)
    try:
        term.expect("no turns", timeout=15)
        for number, text in enumerate(PLAN_TURNS, start=1):
            term.send(text + "\r")
            term.expect(f"turn {number}/{number}")
        term.expect("changed")
        term.send("\x1b")  # leave the input box
        time.sleep(0.2)  # let Textual tell a lone escape from an escape sequence
        term.send("q")
    finally:
        code_ = term.close()
    assert code_ == 0, term.output[-800:]
    store = SqlStore(db)
    try:
        [summary] = store.list_sessions()
        assert (summary.flow, summary.state, summary.done) == ("plan_upgrade", "changed", True)
        texts = [r.customer_text for r in store.turns(summary.session_id)]
        assert texts == PLAN_TURNS
    finally:
        store.close()
