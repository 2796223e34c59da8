"""Telecom CRM tools: tau2-bench conformance (probes, DB hash), loader errors and change_plan."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from cxflow.errors import DataFileError
from cxflow.tools.telecom import (
    TAU2_TODAY,
    LineStatus,
    TelecomDB,
    TelecomTools,
    call_tool,
    db_hash,
    load_telecom_db,
    sample_db_path,
    telecom_db_json,
    to_tool_output,
)

# Folder holding tau2's `telecom/` data; the vectors live next to it in `tau2-vectors/`.
TAU2_DATA = Path(
    os.environ.get("CXFLOW_TAU2_DATA") or Path(__file__).parents[3] / "shared/tau2-data"
)
TAU2_VECTORS = Path(os.environ.get("CXFLOW_TAU2_VECTORS") or TAU2_DATA.parent / "tau2-vectors")
REAL_DB = TAU2_DATA / "telecom" / "db.toml"
PROBES_FILE = TAU2_VECTORS / "telecom" / "probes.json"

IMPLEMENTED = {
    "get_customer_by_phone",
    "get_customer_by_id",
    "get_customer_by_name",
    "get_details_by_id",
    "get_data_usage",
}


def _replayable_probes() -> list[dict[str, Any]]:
    """Probes of implemented tools whose setup is empty or only the user-side set_user_info."""
    if not PROBES_FILE.exists():
        return []
    probes: list[dict[str, Any]] = json.loads(PROBES_FILE.read_text())["probes"]
    return [
        p
        for p in probes
        if p["tool"] in IMPLEMENTED
        and p["requestor"] == "assistant"
        and all(s["func_name"] == "set_user_info" for s in p["setup"])
    ]


PROBES = _replayable_probes()


def _run(tools: TelecomTools, name: str, arguments: dict[str, Any]) -> tuple[str, bool]:
    """Call a tool the way tau2's get_response does: (output text, error flag)."""
    try:
        result = getattr(tools, name)(**arguments)
    except Exception as exc:
        return f"Error: {exc}", True
    return to_tool_output(result), False


# ---- tau2 conformance ------------------------------------------------------------------------


def test_enough_probes_are_replayed() -> None:
    assert len(PROBES) > 10, (
        f"only {len(PROBES)} replayable probes found in {PROBES_FILE}; "
        "set CXFLOW_TAU2_DATA to the folder that holds tau2's telecom/ data"
    )


@pytest.mark.parametrize("probe", PROBES, ids=[p["id"] for p in PROBES])
def test_probe_output_matches_tau2(probe: dict[str, Any]) -> None:
    db = load_telecom_db(REAL_DB)
    before = telecom_db_json(db)
    output, error = _run(TelecomTools(db), probe["tool"], probe["arguments"])
    assert output == probe["output"]
    assert error == probe["error"]
    assert telecom_db_json(db) == before  # read tools never write


def test_pristine_real_db_hash_matches_tau2() -> None:
    index: list[dict[str, str]] = json.loads(
        (TAU2_VECTORS / "telecom/train/index.json").read_text()
    )
    vectors = [
        json.loads((TAU2_VECTORS / "telecom/train" / entry["file"]).read_text()) for entry in index
    ]
    untouched = [v for v in vectors if v["initial"]["agent_db_diff"] == []]
    assert untouched, "expected a train vector whose initialization leaves the agent DB as is"
    actual = db_hash(load_telecom_db(REAL_DB))
    for vector in untouched:
        assert actual == vector["initial"]["agent_db_hash"], vector["task_id"]


# ---- loader ----------------------------------------------------------------------------------


def test_sample_db_loads() -> None:
    db = load_telecom_db(sample_db_path())
    assert [p.plan_id for p in db.plans] == ["P1001", "P1002", "P1003", "P1004", "P1005"]
    assert len(db.customers) == 4
    assert len(db.lines) == 6
    statuses = {line.line_id: line.status for line in db.lines}
    assert statuses["L2001"] is LineStatus.ACTIVE
    assert statuses["L2003"] is LineStatus.SUSPENDED
    assert any(b.status.value == "Overdue" for b in db.bills)
    assert TelecomDB.model_validate(telecom_db_json(db)) == db  # JSON dump round-trips


def test_sample_db_references_are_consistent() -> None:
    db = load_telecom_db(sample_db_path())
    line_ids = {line.line_id for line in db.lines}
    bill_ids = {bill.bill_id for bill in db.bills}
    plan_ids = {plan.plan_id for plan in db.plans}
    device_ids = {device.device_id for device in db.devices}
    for customer in db.customers:
        assert set(customer.line_ids) <= line_ids
        assert set(customer.bill_ids) <= bill_ids
    for line in db.lines:
        assert line.plan_id in plan_ids
        assert line.device_id is None or line.device_id in device_ids
    for bill in db.bills:
        assert bill.total_due == pytest.approx(sum(item.amount for item in bill.line_items))


def test_missing_file_raises_data_file_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(DataFileError) as info:
        load_telecom_db(path)
    assert "nope.toml" in str(info.value)
    assert "not found" in str(info.value)


def test_malformed_toml_raises_data_file_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[[plans]]\nplan_id = "P1"\nname = \n')
    with pytest.raises(DataFileError) as info:
        load_telecom_db(path)
    assert "broken.toml" in str(info.value)
    assert "TOML" in str(info.value)


def test_wrong_typed_field_names_file_record_and_field(tmp_path: Path) -> None:
    text = sample_db_path().read_text()
    bad = text.replace("data_used_gb = 41.7", 'data_used_gb = "lots"')
    assert bad != text
    path = tmp_path / "crm.toml"
    path.write_text(bad)
    with pytest.raises(DataFileError) as info:
        load_telecom_db(path)
    err = info.value
    assert err.record == "lines[3] (line_id L2004)"
    assert err.field == "data_used_gb"
    message = str(err)
    assert "crm.toml" in message
    assert "lines[3] (line_id L2004)" in message
    assert "data_used_gb" in message
    assert "valid number" in message  # pydantic's own explanation
    assert "'lots'" in message


def test_nested_field_error_is_located(tmp_path: Path) -> None:
    text = sample_db_path().read_text()
    bad = text.replace('method_type = "PayPal"', 'method_type = "Cheque"')
    path = tmp_path / "crm.toml"
    path.write_text(bad)
    with pytest.raises(DataFileError) as info:
        load_telecom_db(path)
    assert info.value.record == "customers[2] (customer_id C2003)"
    assert info.value.field == "payment_methods[0].method_type"


# ---- change_plan -----------------------------------------------------------------------------


@pytest.fixture
def sample_tools() -> TelecomTools:
    return TelecomTools(load_telecom_db(sample_db_path()))


def test_list_plans(sample_tools: TelecomTools) -> None:
    assert [p.plan_id for p in sample_tools.list_plans()] == [
        "P1001",
        "P1002",
        "P1003",
        "P1004",
        "P1005",
    ]


def test_change_plan_updates_only_plan_and_date(sample_tools: TelecomTools) -> None:
    before = telecom_db_json(sample_tools.db)
    line = sample_tools.change_plan("C2001", "L2001", "P1002")
    assert line.plan_id == "P1002"
    assert line.last_plan_change_date == TAU2_TODAY
    after = telecom_db_json(sample_tools.db)
    lines_before: Any = before["lines"]
    lines_after: Any = after["lines"]
    expected = dict(lines_before[0], plan_id="P1002", last_plan_change_date="2025-02-25")
    assert lines_after[0] == expected
    assert {**after, "lines": None} == {**before, "lines": None}
    assert lines_after[1:] == lines_before[1:]


@pytest.mark.parametrize(
    ("customer_id", "line_id", "plan_id", "message"),
    [
        ("C9999", "L2001", "P1002", "Customer with ID C9999 not found"),
        ("C2001", "L2003", "P1002", "Line L2003 not found for customer C2001"),
        ("C2001", "L2001", "P9999", "Plan with ID P9999 not found"),
        ("C2002", "L2003", "P1001", "Line L2003 is Suspended; only Active lines can change plan"),
        (
            "C2004",
            "L2006",
            "P1001",
            "Line L2006 is Pending Activation; only Active lines can change plan",
        ),
        ("C2001", "L2001", "P1001", "Line L2001 is already on plan P1001"),
    ],
)
def test_change_plan_refusals_leave_db_unchanged(
    sample_tools: TelecomTools, customer_id: str, line_id: str, plan_id: str, message: str
) -> None:
    before = telecom_db_json(sample_tools.db)
    with pytest.raises(ValueError) as info:
        sample_tools.change_plan(customer_id, line_id, plan_id)
    assert str(info.value) == message
    assert telecom_db_json(sample_tools.db) == before


# ---- output rendering ------------------------------------------------------------------------


def test_to_tool_output_rules(sample_tools: TelecomTools) -> None:
    assert to_tool_output("plain text") == "plain text"
    assert to_tool_output([]) == "[]"
    assert to_tool_output({"n": 1, "x": 2.5, "ok": True, "none": None}) == (
        '{"n": "1", "x": "2.5", "ok": "True", "none": null}'
    )
    line = sample_tools.get_details_by_id("L2003")
    rendered = json.loads(to_tool_output({"message": "hi", "line": line}))
    assert rendered["line"]["data_used_gb"] == 0.0  # models nested in a dict keep numbers
    assert rendered["line"]["suspension_start_date"] == "2025-02-03"
    with pytest.raises(ValueError, match="Unsupported type"):
        to_tool_output({"bad": object()})


# ---- write tools -----------------------------------------------------------------------------


def test_refuel_without_a_draft_bill_opens_one_with_the_given_id() -> None:
    tools = TelecomTools(load_telecom_db(sample_db_path()), new_bill_id=lambda: "B00000001")
    receipt = tools.refuel_data("C2003", "L2004", 1.0)
    assert receipt["message"] == "Successfully added 1.0 GB of data for line L2004 for $0.10"
    bill = tools.get_bill("B00000001")
    assert (bill.status.value, str(bill.period_start), str(bill.due_date)) == (
        "Draft",
        "2025-03-01",
        "2025-03-15",
    )
    assert tools.get_customer_by_id("C2003").bill_ids[-1] == "B00000001"


def test_call_tool_dispatches_only_tau2_tools(sample_tools: TelecomTools) -> None:
    assert call_tool(sample_tools, "transfer_to_human_agents", {"summary": "x"}).output == (
        "Transfer successful"
    )
    refused = call_tool(sample_tools, "change_plan", {})
    assert (refused.output, refused.error) == ("Error: Tool 'change_plan' not found.", True)


def test_loading_the_same_crm_twice_gives_equal_independent_databases(tmp_path: Path) -> None:
    from cxflow.tools.telecom.db import load_telecom_db, sample_db_path

    first, second = load_telecom_db(sample_db_path()), load_telecom_db(sample_db_path())
    assert first.model_dump() == second.model_dump()
    first.lines[0].status = "Suspended"  # type: ignore[assignment]
    assert load_telecom_db(sample_db_path()).model_dump() == second.model_dump()
    edited = tmp_path / "db.toml"
    edited.write_text(sample_db_path().read_text().replace("Maya Okafor", "Maya Smith"))
    assert load_telecom_db(edited).customers[0].full_name == "Maya Smith"  # not the cached one
