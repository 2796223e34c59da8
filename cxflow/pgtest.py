"""A throwaway PostgreSQL server for tests: a fresh cluster in a temporary directory.

```python
from cxflow.pgtest import fresh_database, throwaway_postgres
from cxflow.sql_store import SqlStore

with throwaway_postgres() as server:      # postgresql+psycopg://postgres@127.0.0.1:PORT/postgres
    store = SqlStore(fresh_database(server))
```
The cluster listens on 127.0.0.1 only, on a free port, with durability switched off (fsync,
synchronous commit): it is for tests, and starts in about a second. It is stopped and deleted
when the block ends. With `CXFLOW_TEST_PG_URL` set, that server is used instead and nothing
is started. PostgreSQL itself comes from the system (Debian: `apt install postgresql`).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path

from cxflow.errors import UsageError

__all__ = ["URL_ENV", "drop_database", "find_bindir", "fresh_database", "throwaway_postgres"]

URL_ENV = "CXFLOW_TEST_PG_URL"
"""An existing server's base URL (`postgresql+psycopg://user@host:port/db`) to use instead."""

_INSTALL_HINT = (
    "Install PostgreSQL's server (Debian/Ubuntu: `apt install postgresql`), or point "
    f"{URL_ENV} at a server you run, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres."
)
_RUN_AS = "postgres"
"""initdb refuses to run as root; as root the cluster belongs to Debian's `postgres` user."""


def find_bindir() -> Path:
    """Return the directory holding PostgreSQL's `initdb` and `pg_ctl`.

    Looked for with `pg_config --bindir`, then in `/usr/lib/postgresql/*/bin` (newest first),
    then on PATH.

    Raises:
        UsageError: PostgreSQL's server programs are not installed.
    """
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if done.returncode == 0 and done.stdout.strip():
            candidates.append(Path(done.stdout.strip()))
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    versions.sort(key=lambda p: _version_key(Path(p).parent.name), reverse=True)
    candidates += [Path(p) for p in versions]
    on_path = shutil.which("initdb")
    if on_path is not None:
        candidates.append(Path(on_path).parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    raise UsageError(f"PostgreSQL's server (initdb, pg_ctl) is not installed. {_INSTALL_HINT}")


@contextmanager
def throwaway_postgres() -> Generator[str]:
    """Start a fresh PostgreSQL cluster on 127.0.0.1 and yield its base SQLAlchemy URL.

    Yields `$CXFLOW_TEST_PG_URL` instead, starting nothing, when that is set.

    Raises:
        UsageError: PostgreSQL is not installed (the message says how to fix it), or the
            cluster did not start (the message has the server's log).
    """
    given = os.environ.get(URL_ENV)
    if given:
        yield given
        return
    bindir = find_bindir()
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    if as_root:
        if shutil.which("runuser") is None:
            raise UsageError(f"as root, `runuser` is needed to start PostgreSQL. {_INSTALL_HINT}")
        try:
            owner = pwd.getpwnam(_RUN_AS)
        except KeyError as exc:
            raise UsageError(
                f"running as root, PostgreSQL must run as the {_RUN_AS!r} user, which does not "
                f"exist. {_INSTALL_HINT}"
            ) from exc
        prefix = ["runuser", "-u", _RUN_AS, "--"]
    root = Path(tempfile.mkdtemp(prefix="cxflow-pg-"))
    if as_root:
        os.chown(root, owner.pw_uid, owner.pw_gid)  # pyright: ignore[reportPossiblyUnboundVariable]
    data, log = root / "data", root / "server.log"
    port = _free_port()
    started = False
    try:
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
        _run([*prefix, *initdb, "--encoding=UTF8", "--no-sync", "--no-instructions"], "initdb")
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        started = True
        pg_ctl = [str(bindir / "pg_ctl"), "start", "-w", "-t", "30", "-D", str(data)]
        _run([*prefix, *pg_ctl, "-l", str(log), "-o", options], "pg_ctl start", log=log)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run(
                [*prefix, str(bindir / "pg_ctl"), "stop", "-m", "immediate", "-D", str(data)],
                capture_output=True,
                check=False,
            )
        shutil.rmtree(root, ignore_errors=True)


def fresh_database(base_url: str) -> str:
    """Create an empty database with a random name on the server and return its URL."""
    from sqlalchemy import make_url

    name = f"cx_{uuid.uuid4().hex[:16]}"
    _admin(base_url, f'CREATE DATABASE "{name}"')
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop a database made by `fresh_database`, disconnecting whoever is still on it."""
    from sqlalchemy import make_url

    parsed = make_url(url)
    admin = parsed.set(database="postgres").render_as_string(hide_password=False)
    _admin(admin, f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


def _admin(url: str, statement: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
    import psycopg
    from sqlalchemy import make_url

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement.encode())
    except psycopg.Error as exc:
        where = make_url(url).render_as_string()  # the password, if any, shown as ***
        raise UsageError(
            f"PostgreSQL at {where} refused {statement!r}: {exc}. Check that the server is up "
            "and that the user may create and drop databases."
        ) from exc


def _run(command: list[str], what: str, *, log: Path | None = None) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        server_log = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
        raise UsageError(
            f"{what} failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()}\n"
            f"{server_log}\nCheck the PostgreSQL installation, or set {URL_ENV} to a running "
            "server."
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())
