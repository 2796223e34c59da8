"""Data file faults: tau2 databases, the telecom phone state and scenario files that are cut
short, empty, not UTF-8, binary, nested past the parser's stack, of the wrong type, or a
directory; and flows whose tau2 data folder holds such a file.

Each must fail with `DataFileError` naming the file (and, for a wrong value, the field); no
other exception, and no environment built from half a file. A cut that leaves a file still
valid in its format is counted (`truncations_accepted`): JSON cannot be cut and stay valid;
TOML and YAML can, between lines, which a loader cannot always tell from a shorter file.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from tempfile import TemporaryDirectory

from cxflow.errors import DataFileError
from cxflow.simulators.reliability._faults_common import Found

__all__ = ["LOADERS", "run_data_faults"]


@dataclass(frozen=True)
class Loader:
    """A data file format: its loader, a good sample, and how to corrupt it."""

    name: str
    load: Callable[[Path], object]
    sample: Callable[[], bytes]
    suffix: str
    deep: bytes
    """A file nested deeper than the parser's stack."""
    wrong_root: bytes
    """Valid syntax, but not the kind of document expected."""
    line_based: bool
    """TOML and YAML: a cut between lines can leave a valid, shorter file."""
    empty_ok: bool = False
    """An empty file is a valid one (the phone state: every field has tau2's default)."""


def _read(path: Path) -> bytes:
    return path.read_bytes()


def _airline() -> bytes:
    from cxflow.tools.airline.db import sample_db_path

    return _read(sample_db_path())


def _retail() -> bytes:
    from cxflow.tools.retail.db import sample_db_path

    return _read(sample_db_path())


def _telecom() -> bytes:
    from cxflow.tools.telecom.db import sample_db_path

    return _read(sample_db_path())


def _phone() -> bytes:
    return b'[device]\nairplane_mode = false\nsim_card_status = "active"\n' + (
        b"[surroundings]\nis_abroad = false\n"
    )


def _scenarios() -> bytes:
    found = resources.files("cxflow.flows").joinpath("scenarios", "plan_upgrade.yaml")
    return found.read_bytes()


def _load_airline(path: Path) -> object:
    from cxflow.tools.airline.db import load_airline_db

    return load_airline_db(path)


def _load_retail(path: Path) -> object:
    from cxflow.tools.retail.db import load_retail_db

    return load_retail_db(path)


def _load_telecom(path: Path) -> object:
    from cxflow.tools.telecom.db import load_telecom_db

    return load_telecom_db(path)


def _load_phone(path: Path) -> object:
    from cxflow.simulators.telecom.state import load_phone_state

    return load_phone_state(path)


def _load_scenarios(path: Path) -> object:
    from cxflow.simulators.scenario import load_scenarios

    return load_scenarios(path)


_DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
_DEEP_TOML = b"x = " + b"[" * 5_000 + b"]" * 5_000 + b"\n"
_DEEP_YAML = b"- " * 1_500 + b"x\n"

LOADERS: tuple[Loader, ...] = (
    Loader("airline_db", _load_airline, _airline, ".json", _DEEP_JSON, b"[]", False),
    Loader("retail_db", _load_retail, _retail, ".json", _DEEP_JSON, b'"db"', False),
    Loader("telecom_db", _load_telecom, _telecom, ".toml", _DEEP_TOML, b"x = 1\n", True),
    Loader("phone_state", _load_phone, _phone, ".toml", _DEEP_TOML, b"device = 1\n", True, True),
    Loader("scenarios", _load_scenarios, _scenarios, ".yaml", _DEEP_YAML, b"- a\n- b\n", True),
)
"""Every data file format checked."""

_NUMBER = {
    ".json": re.compile(rb'(": )(-?\d+(?:\.\d+)?)([,\n}])'),
    ".toml": re.compile(rb"( = )(-?\d+(?:\.\d+)?)(\n)"),
    ".yaml": re.compile(rb"(: )(\d+(?:\.\d+)?)(\n)"),
}


def _wrong_type(loader: Loader, raw: bytes) -> bytes | None:
    """The file with its first number (or, in YAML, its flow id) replaced by a wrong type."""
    if loader.suffix == ".yaml":
        return raw.replace(b"flow: plan_upgrade", b"flow: [1, 2]", 1)
    if loader.name == "phone_state":
        return raw.replace(b"airplane_mode = false", b'airplane_mode = "maybe"', 1)
    match = _NUMBER[loader.suffix].search(raw)
    if match is None:
        return None
    return raw[: match.start(2)] + b'"lots"' + raw[match.end(2) :]


def _corruptions(
    loader: Loader, raw: bytes, budget: str, rng: random.Random
) -> list[tuple[str, bytes | None]]:
    """(name, content) pairs; content None means "a directory stands where the file should"."""
    cases: list[tuple[str, bytes | None]] = [
        *([] if loader.empty_ok else [("empty", b"")]),
        ("not_utf8", b"\xff\xfe" + raw[2:]),
        ("binary", bytes(rng.randrange(256) for _ in range(512))),
        ("nul_appended", raw + b"\x00"),
        ("nested_too_deep", loader.deep),
        ("wrong_root", loader.wrong_root),
        ("directory", None),
    ]
    wrong = _wrong_type(loader, raw)
    if wrong is not None and wrong != raw:
        cases.append(("wrong_type", wrong))
    cuts = rng.sample(range(1, len(raw)), 4 if budget == "ci" else 60)
    if loader.line_based:
        ends = [i + 1 for i, byte in enumerate(raw[:-1]) if byte == ord("\n")]
        cuts += rng.sample(ends, min(len(ends), 4)) if budget == "ci" else ends
    cases += [(f"cut_at_{cut}", raw[:cut]) for cut in sorted(set(cuts))]
    return cases


def _check(found: Found, loader: Loader, name: str, path: Path) -> None:
    case = f"{loader.name}/{name}"
    found.cases += 1
    try:
        loader.load(path)
    except DataFileError as exc:
        if path.name not in str(exc):
            found.broke(case, f"the error does not name the file: {exc}")
        if name == "wrong_type" and exc.field is None and exc.record is None:
            found.broke(case, f"the error does not name the record or field: {exc}")
        found.count("data_file_faults.rejected")
        return
    except Exception as exc:
        found.broke(case, f"raised {type(exc).__name__} instead of DataFileError: {exc!s:.120}")
        return
    if name.startswith("cut_at_"):
        found.count(f"data_file_faults.truncations_accepted.{loader.name}")
        if not loader.line_based:
            found.broke(case, "a file cut short loaded without an error")
        return
    found.broke(case, "a corrupt file loaded without an error")


def _env_cases(found: Found, folder: Path) -> None:
    """Flows built from a tau2 data folder whose database is corrupt fail, naming the file."""
    from cxflow.registry import get_flow

    for flow_id, domain, file in (
        ("book_flight", "airline", "db.json"),
        ("cancel_order", "retail", "db.json"),
        ("plan_upgrade", "telecom", "db.toml"),
    ):
        loader = next(x for x in LOADERS if x.name == f"{domain}_db")
        raw = loader.sample()
        data = folder / f"env_{flow_id}"
        (data / domain).mkdir(parents=True)
        target = data / domain / file
        for name, content in (("cut_in_half", raw[: len(raw) // 2]), ("missing", None)):
            case = f"env/{flow_id}/{name}"
            if content is None:
                target.unlink(missing_ok=True)
            else:
                target.write_bytes(content)
            found.cases += 1
            try:
                get_flow(flow_id).make_env(data)  # pyright: ignore[reportCallIssue]
            except DataFileError as exc:
                if file not in str(exc):
                    found.broke(case, f"the error does not name the file: {exc}")
                found.count("data_file_faults.env_refused")
            except Exception as exc:
                found.broke(case, f"raised {type(exc).__name__} instead of DataFileError: {exc}")
            else:
                found.broke(case, "an environment was built from a corrupt database")


def run_data_faults(budget: str) -> Found:
    """Corrupt every data file format in every way listed (more cuts with "full")."""
    found = Found()
    rng = random.Random(9)
    with TemporaryDirectory(prefix="cxflow-faults-") as name:
        folder = Path(name)
        for loader in LOADERS:
            raw = loader.sample()
            for number, (case, content) in enumerate(_corruptions(loader, raw, budget, rng)):
                path = folder / f"{loader.name}_{number}{loader.suffix}"
                if content is None:
                    path.mkdir()
                else:
                    path.write_bytes(content)
                _check(found, loader, case, path)
            _check(found, loader, "missing", folder / f"{loader.name}_missing{loader.suffix}")
        _env_cases(found, folder)
    return found
