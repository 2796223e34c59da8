"""Tests for the `cxflow` command line: run in-process through `main`, plus one real subprocess."""

from __future__ import annotations

import io
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from cxflow import __version__
from cxflow.cli import main
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.records import PendingTurn
from cxflow.session import Session
from cxflow.sql_store import SqlStore

HAPPY_PATH = ["555-014-3301", "555-014-3301", "Everyday 20", "yes"]
HAS_DOT = shutil.which("dot") is not None


def run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *argv: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    """Run `cxflow ARGV` in-process with piped stdin; return (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def session_id_from(stderr: str) -> str:
    """Return the session id from chat's closing `session <id> (...)` line."""
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("session "), stderr
    return last.split()[1]


def agent_lines(stdout: str) -> list[str]:
    return [
        line.removeprefix("agent> ") for line in stdout.splitlines() if line.startswith("agent> ")
    ]


# -- general -----------------------------------------------------------------------------------


def test_version_prints_the_package_version(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(capsys, monkeypatch, "--version")

    assert code == 0
    assert out.strip() == f"cxflow {__version__}"


def test_unknown_subcommand_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(capsys, monkeypatch, "frobnicate")

    assert code == 2
    assert out == ""
    assert err.startswith("cxflow: error: ")
    assert "frobnicate" in err
    assert len(err.strip().splitlines()) == 1


def test_no_subcommand_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(capsys, monkeypatch)

    assert code == 2
    assert err.startswith("cxflow: error: ")


# -- flows and graph ---------------------------------------------------------------------------


def test_flows_lists_each_id_then_two_spaces_and_its_title(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(capsys, monkeypatch, "flows")

    assert code == 0
    lines = out.splitlines()
    assert "plan_upgrade" in [line.split()[0] for line in lines]
    assert f"plan_upgrade  {PlanUpgrade.spec.title}" in lines


def test_graph_prints_mermaid_by_default(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(capsys, monkeypatch, "graph", "plan_upgrade")

    assert code == 0
    assert out.startswith("stateDiagram-v2\n")
    assert "[*] --> identify" in out


def test_graph_prints_dot(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(capsys, monkeypatch, "graph", "plan_upgrade", "--format", "dot")

    assert code == 0
    assert out.startswith('digraph "plan_upgrade" {')


def test_graph_writes_text_to_a_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "flow.mmd"

    code, out, _ = run(capsys, monkeypatch, "graph", "plan_upgrade", "-o", str(target))

    assert code == 0
    assert out == ""
    assert target.read_text().startswith("stateDiagram-v2")


def test_graph_of_an_unknown_flow_lists_the_known_ones(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(capsys, monkeypatch, "graph", "no_such_flow")

    assert code == 2
    assert out == ""
    assert err.startswith("cxflow: error: unknown flow 'no_such_flow'")
    assert "plan_upgrade" in err


def test_graph_png_needs_an_output_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(capsys, monkeypatch, "graph", "plan_upgrade", "--format", "png")

    assert code == 2
    assert err.startswith("cxflow: error: ")
    assert "-o FILE" in err


def test_graph_image_without_graphviz_fails_with_the_install_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    code, out, err = run(capsys, monkeypatch, "graph", "plan_upgrade", "--format", "svg")

    assert code == 1
    assert out == ""
    assert err.startswith("cxflow: error: rendering SVG/PNG needs Graphviz's `dot` program.")
    assert "apt-get install graphviz" in err


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
def test_graph_svg_goes_to_stdout_and_png_to_a_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, out, _ = run(capsys, monkeypatch, "graph", "plan_upgrade", "--format", "svg")
    assert code == 0
    assert out.lstrip().startswith(("<?xml", "<svg"))

    png = tmp_path / "flow.png"
    code, _, _ = run(
        capsys, monkeypatch, "graph", "plan_upgrade", "--format", "png", "-o", str(png)
    )
    assert code == 0
    assert png.read_bytes().startswith(b"\x89PNG")


# -- chat --------------------------------------------------------------------------------------


def test_chat_runs_the_happy_path_to_the_final_state(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = str(tmp_path / "chat.db")

    code, out, err = run(
        capsys, monkeypatch, "chat", "plan_upgrade", "--db", db, stdin="\n".join(HAPPY_PATH)
    )

    assert code == 0
    replies = agent_lines(out)
    assert len(replies) == 1 + len(HAPPY_PATH)
    assert replies[0].startswith("I can help you change your plan.")
    assert replies[-1].startswith("Done: line 555-014-3301 is now on Everyday 20")
    assert "you> " not in out  # piped input: no prompt
    session_id = session_id_from(err)
    assert err.strip() == (
        f"session {session_id} (completed); replay with: cxflow replay {session_id} --db {db}"
    )


def test_chat_skips_empty_lines_and_stops_at_the_final_state(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lines = ["", "  ", *HAPPY_PATH[:2], "", *HAPPY_PATH[2:], "this line is never read"]

    code, out, _ = run(
        capsys,
        monkeypatch,
        "chat",
        "plan_upgrade",
        "--db",
        str(tmp_path / "chat.db"),
        stdin="\n".join(lines) + "\n",
    )

    assert code == 0
    assert len(agent_lines(out)) == 1 + len(HAPPY_PATH)


def test_chat_ends_open_at_end_of_input_and_resumes_with_session(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = str(tmp_path / "chat.db")
    code, _, err = run(capsys, monkeypatch, "chat", "plan_upgrade", "--db", db, stdin=HAPPY_PATH[0])
    assert code == 0
    session_id = session_id_from(err)
    assert f"session {session_id} (open);" in err

    code, out, err = run(
        capsys,
        monkeypatch,
        "chat",
        "plan_upgrade",
        "--db",
        db,
        "--session",
        session_id,
        stdin="\n".join(HAPPY_PATH[1:]),
    )

    assert code == 0
    replies = agent_lines(out)
    assert replies[0].startswith("Thanks, Maya Okafor.")  # where the conversation stopped
    assert replies[-1].startswith("Done:")
    assert f"session {session_id} (completed);" in err


def test_chat_resume_first_completes_a_turn_left_pending(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = str(tmp_path / "chat.db")
    store = SqlStore(db)
    try:
        session = Session.start(PlanUpgrade, store=store)
        store.save_pending(
            PendingTurn(session_id=session.id, turn=1, customer_text=HAPPY_PATH[0])
        )  # as if the process died after saving the customer's text
    finally:
        store.close()

    code, out, _ = run(
        capsys, monkeypatch, "chat", "plan_upgrade", "--db", db, "--session", session.id
    )

    assert code == 0
    assert f"you> {HAPPY_PATH[0]}" in out.splitlines()
    assert agent_lines(out)[-1].startswith("Thanks, Maya Okafor.")


def test_chat_resume_of_an_ended_session_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = str(tmp_path / "chat.db")
    _, _, err = run(
        capsys, monkeypatch, "chat", "plan_upgrade", "--db", db, stdin="\n".join(HAPPY_PATH)
    )

    code, out, err = run(
        capsys, monkeypatch, "chat", "plan_upgrade", "--db", db, "--session", session_id_from(err)
    )

    assert code == 2
    assert out == ""
    assert err.startswith("cxflow: error: ")
    assert "has ended (completed)" in err


def test_chat_resume_of_an_unknown_session_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = str(tmp_path / "chat.db")
    run(capsys, monkeypatch, "chat", "plan_upgrade", "--db", db)

    code, _, err = run(capsys, monkeypatch, "chat", "plan_upgrade", "--db", db, "--session", "nope")

    assert code == 2
    assert err.startswith("cxflow: error: no session 'nope'")


def test_chat_with_an_unknown_flow_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = tmp_path / "chat.db"

    code, _, err = run(capsys, monkeypatch, "chat", "no_such_flow", "--db", str(db))

    assert code == 2
    assert err.startswith("cxflow: error: unknown flow 'no_such_flow'")
    assert not db.exists()


class _InterruptedStdin(io.StringIO):
    """Standard input on which the customer presses Ctrl-C."""

    def readline(self, size: int | None = -1, /) -> str:
        raise KeyboardInterrupt


def test_chat_ctrl_c_exits_130_and_names_the_session(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "stdin", _InterruptedStdin())

    code = main(["chat", "plan_upgrade", "--db", str(tmp_path / "chat.db")])

    _, err = capsys.readouterr()
    assert code == 130
    assert "Traceback" not in err
    assert "(open); replay with: cxflow replay " in err


# -- replay ------------------------------------------------------------------------------------


def chat_session(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: str
) -> str:
    """Run the happy path through `cxflow chat` and return the session id."""
    code, _, err = run(
        capsys, monkeypatch, "chat", "plan_upgrade", "--db", db, stdin="\n".join(HAPPY_PATH)
    )
    assert code == 0
    return session_id_from(err)


def test_replay_reruns_a_stored_session_identically_without_a_model(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = str(tmp_path / "chat.db")
    session_id = chat_session(capsys, monkeypatch, db)

    code, out, _ = run(capsys, monkeypatch, "replay", session_id, "--db", db)

    assert code == 0
    lines = out.splitlines()
    assert [line.removeprefix("you> ") for line in lines if line.startswith("you> ")] == HAPPY_PATH
    assert agent_lines(out)[-1].startswith("Done:")
    assert lines[-1] == f"identical: {len(HAPPY_PATH)} turns, 0 model calls"


def test_replay_reports_the_first_difference(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = str(tmp_path / "chat.db")
    session_id = chat_session(capsys, monkeypatch, db)
    with sqlite3.connect(db) as conn:  # tamper with the stored reply of turn 2
        conn.execute(
            "UPDATE cxflow_turns SET record = replace(record, 'Starter 5 at', 'Gold at') "
            "WHERE turn = 2"
        )
    conn.close()

    code, out, _ = run(capsys, monkeypatch, "replay", session_id, "--db", db)

    assert code == 1
    assert "differs at turn 2: reply" in out
    assert "Gold at" in out
    assert "identical" not in out


def test_replay_of_an_unknown_session_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = str(tmp_path / "chat.db")
    chat_session(capsys, monkeypatch, db)

    code, out, err = run(capsys, monkeypatch, "replay", "nope", "--db", db)

    assert code == 2
    assert out == ""
    assert err.startswith("cxflow: error: no session 'nope'")
    assert "cxflow replay --list" in err


def test_replay_with_a_missing_database_is_a_usage_error_and_creates_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = tmp_path / "missing.db"

    code, _, err = run(capsys, monkeypatch, "replay", "abc", "--db", str(db))

    assert code == 2
    assert err.startswith("cxflow: error: no session database")
    assert not db.exists()


def test_replay_needs_a_session_id_or_list(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, _, err = run(capsys, monkeypatch, "replay", "--db", str(tmp_path / "x.db"))

    assert code == 2
    assert err.startswith("cxflow: error: give the SESSION_ID")


def test_replay_list_shows_id_flow_state_turns_and_outcome(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = str(tmp_path / "chat.db")
    done = chat_session(capsys, monkeypatch, db)
    _, _, err = run(capsys, monkeypatch, "chat", "plan_upgrade", "--db", db, stdin=HAPPY_PATH[0])
    open_id = session_id_from(err)

    code, out, _ = run(capsys, monkeypatch, "replay", "--list", "--db", db)

    assert code == 0
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()}
    assert rows["id"] == ["flow", "state", "turns", "outcome"]
    assert rows[done] == ["plan_upgrade", "changed", "4", "completed"]
    assert rows[open_id] == ["plan_upgrade", "choose_line", "1", "open"]


# -- the installed command ---------------------------------------------------------------------


@pytest.mark.slow
def test_installed_command_chats_then_replays_identically(tmp_path: Path) -> None:
    cxflow = Path(sys.executable).parent / "cxflow"
    db = str(tmp_path / "x.db")

    chat = subprocess.run(
        [str(cxflow), "chat", "plan_upgrade", "--db", db],
        input="\n".join(HAPPY_PATH) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert chat.returncode == 0, chat.stderr
    assert "Done" in agent_lines(chat.stdout)[-1]
    session_id = session_id_from(chat.stderr)

    replay = subprocess.run(
        [str(cxflow), "replay", session_id, "--db", db],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "identical" in replay.stdout


def test_chat_on_tau2_data_runs_the_real_crm_and_replays_on_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import os

    tau2 = os.environ.get("CXFLOW_TAU2_DATA") or str(
        Path(__file__).resolve().parents[3] / "shared" / "tau2-data"
    )
    db = str(tmp_path / "tau2.db")
    lines = ["555-123-2002", "555-123-2001", "Premium Plan", "yes"]
    code, out, err = run(
        capsys,
        monkeypatch,
        "chat",
        "plan_upgrade",
        "--db",
        db,
        "--tau2-data",
        tau2,
        stdin="\n".join(lines),
    )
    assert code == 0
    replies = agent_lines(out)
    assert replies[1].startswith("Thanks, John Smith.")  # tau2's customer, not the sample's
    assert replies[-1] == "Done: line 555-123-2001 is now on Premium Plan at $65.00 a month."
    code, out, _ = run(capsys, monkeypatch, "replay", session_id_from(err), "--db", db)
    assert code == 0 and out.splitlines()[-1] == "identical: 4 turns, 0 model calls"


def test_chat_with_a_missing_tau2_folder_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, _, err = run(
        capsys, monkeypatch, "chat", "plan_upgrade", "--tau2-data", str(tmp_path / "nope")
    )
    assert code == 2
    assert "is not a directory" in err


def test_tui_needs_exactly_one_of_flow_session_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tui"]) == 2
    assert "exactly one of FLOW" in capsys.readouterr().err
    assert main(["tui", "plan_upgrade", "--session", "abc"]) == 2
    assert "exactly one of FLOW" in capsys.readouterr().err


def test_tui_on_a_missing_database_says_which_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tui", "--session", "abc", "--db", str(tmp_path / "none.db")]) == 2
    err = capsys.readouterr().err
    assert "no session database" in err and "none.db" in err


def test_tui_unknown_session_and_run_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cx.db"
    SqlStore(db).close()
    assert main(["tui", "--session", "nope", "--db", str(db)]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["tui", "--run", "r9", "--db", str(db)]) == 2
    assert "no run 'r9'" in capsys.readouterr().err
