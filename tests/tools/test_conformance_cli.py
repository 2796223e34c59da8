"""`python -m cxflow.tools.conformance`: per domain, vectors checked, matched, mismatches."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cxflow.tools import conformance

TAU2_DATA = Path(
    os.environ.get("CXFLOW_TAU2_DATA") or Path(__file__).parents[3] / "shared/tau2-data"
)
TAU2_VECTORS = Path(os.environ.get("CXFLOW_TAU2_VECTORS") or TAU2_DATA.parent / "tau2-vectors")


def test_json_report_for_every_domain(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--tau2-data", str(TAU2_DATA), "--vectors", str(TAU2_VECTORS), "--json"]
    assert conformance.main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"airline", "retail", "telecom"}
    expected = {"airline": 80, "retail": 124, "telecom": 184}
    for domain, r in report.items():
        assert r["checked"] == expected[domain]
        assert r["matched"] == r["checked"] and r["mismatches"] == []


def test_a_mismatch_is_reported_with_its_id(tmp_path: Path, capsys) -> None:
    vectors = tmp_path / "vectors"
    (vectors / "telecom" / "train").mkdir(parents=True)
    probes = json.loads((TAU2_VECTORS / "telecom" / "probes.json").read_text())
    probes["probes"] = probes["probes"][:3]
    probes["probes"][0]["output"] = "something tau2 never said"
    (vectors / "telecom" / "probes.json").write_text(json.dumps(probes))
    (vectors / "telecom" / "train" / "index.json").write_text("[]")
    argv = ["--tau2-data", str(TAU2_DATA), "--vectors", str(vectors), "--domain", "telecom"]
    assert conformance.main([*argv, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)["telecom"]
    assert report["checked"] == 3 and report["matched"] == 2
    assert report["mismatches"] == [f"probe:{probes['probes'][0]['id']}"]


def test_missing_folders_are_usage_errors(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("CXFLOW_TAU2_DATA", raising=False)
    monkeypatch.delenv("CXFLOW_TAU2_VECTORS", raising=False)
    assert conformance.main(["--vectors", str(tmp_path)]) == 2
    assert "--tau2-data" in capsys.readouterr().err
    assert conformance.main(["--tau2-data", str(tmp_path / "nope"), "--vectors", "x"]) == 2
