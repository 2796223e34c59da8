"""Airline tools on the bundled sample DB: loader errors, sample consistency, tool behaviour."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import cxflow.tools.airline as airline
from cxflow.errors import DataFileError
from cxflow.tools._tau2 import db_hash as tau2_hash
from cxflow.tools._tau2 import json_diff
from cxflow.tools.airline import (
    NOW,
    TOOL_NAMES,
    TOOL_TYPES,
    AirlineDB,
    AirlineTools,
    Certificate,
    GiftCard,
    airline_data_path,
    copy_db,
    db_hash,
    db_json,
    load_airline_db,
    sample_db_path,
)
from cxflow.tools.airline._workbench import Workbench, _split_records, workbench_for
from cxflow.tools.airline.conformance import changes
from cxflow.tools.airline.db import record_texts


@pytest.fixture
def db() -> AirlineDB:
    return load_airline_db(sample_db_path())


@pytest.fixture
def tools(db: AirlineDB) -> AirlineTools:
    return AirlineTools(db)


def test_public_api_is_listed() -> None:
    exported = {name for name in dir(airline) if not name.startswith("_")}
    modules = {"conformance", "db", "models", "policy", "pricing", "tools"}
    assert len(set(airline.__all__)) == len(airline.__all__)  # ruff keeps the order
    assert set(airline.__all__) == exported - modules


def test_data_path_points_into_the_airline_folder(tmp_path: Path) -> None:
    assert airline_data_path(tmp_path) == tmp_path / "airline" / "db.json"


# ---- loader ----------------------------------------------------------------------------------


def test_missing_file_raises_data_file_error(tmp_path: Path) -> None:
    with pytest.raises(DataFileError) as info:
        load_airline_db(tmp_path / "nope.json")
    assert "nope.json" in str(info.value)
    assert "file not found" in str(info.value)


def test_malformed_json_raises_data_file_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"flights": {}, "users": ')
    with pytest.raises(DataFileError) as info:
        load_airline_db(path)
    assert "broken.json" in str(info.value)
    assert "not valid UTF-8 JSON" in str(info.value)


def test_json_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[]")
    with pytest.raises(DataFileError, match="got a JSON list"):
        load_airline_db(path)


def _write_sample_with(tmp_path: Path, change: Any) -> Path:
    data = json.loads(sample_db_path().read_text())
    change(data)
    path = tmp_path / "airline.json"
    path.write_text(json.dumps(data))
    return path


def test_wrong_typed_field_names_file_record_and_field(tmp_path: Path) -> None:
    path = _write_sample_with(tmp_path, lambda d: d["users"]["noah_patel_2048"].update(dob=1975))
    with pytest.raises(DataFileError) as info:
        load_airline_db(path)
    err = info.value
    assert err.record == "users['noah_patel_2048']"
    assert err.field == "dob"
    message = str(err)
    assert "airline.json" in message
    assert "valid string" in message  # pydantic's own explanation
    assert "(got 1975)" in message


def test_bad_literal_deep_in_a_flight_is_located(tmp_path: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["flights"]["CX101"]["dates"]["2024-05-16"]["available_seats"]["economy"] = "many"

    with pytest.raises(DataFileError) as info:
        load_airline_db(_write_sample_with(tmp_path, change))
    assert info.value.record == "flights['CX101']"
    assert info.value.field == "dates.2024-05-16.available.available_seats.economy"


def test_unknown_table_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="Extra inputs are not permitted") as info:
        load_airline_db(_write_sample_with(tmp_path, lambda d: d.update(airports=[])))
    assert info.value.field == "airports"


# ---- sample DB -------------------------------------------------------------------------------


def test_sample_db_is_small_and_round_trips(db: AirlineDB) -> None:
    assert (len(db.flights), len(db.users), len(db.reservations)) == (7, 3, 7)
    assert AirlineDB.model_validate(db_json(db)) == db
    assert db_hash(db) == tau2_hash(db.model_dump())


def test_sample_db_references_are_consistent(db: AirlineDB) -> None:
    for rid, reservation in db.reservations.items():
        assert reservation.reservation_id == rid
        assert rid in db.users[reservation.user_id].reservations
        for segment in reservation.flights:
            flight = db.flights[segment.flight_number]
            assert (segment.origin, segment.destination) == (flight.origin, flight.destination)
            assert segment.date in flight.dates
        methods = db.users[reservation.user_id].payment_methods
        assert all(p.payment_id in methods for p in reservation.payment_history)
        paid = sum(p.amount for p in reservation.payment_history)
        people = len(reservation.passengers)
        price = sum(s.price for s in reservation.flights) * people
        price += 30 * people * (reservation.insurance == "yes") + 50 * reservation.nonfree_baggages
        assert paid == (0 if reservation.status == "cancelled" else price)
    for uid, user in db.users.items():
        assert user.user_id == uid
        assert all(db.reservations[rid].user_id == uid for rid in user.reservations)
        assert all(method.id == key for key, method in user.payment_methods.items())


# ---- tool behaviour (tau2's, including what the policy forbids) ------------------------------


def test_tool_catalogue(tools: AirlineTools) -> None:
    assert set(TOOL_NAMES) == set(TOOL_TYPES)
    assert len(TOOL_NAMES) == 14
    assert all(callable(getattr(tools, name)) for name in TOOL_NAMES)


def test_onestop_search_crosses_midnight(tools: AirlineTools) -> None:
    pairs = tools.search_onestop_flight("JFK", "DEN", "2024-05-16")
    assert [[leg.flight_number, leg.date] for pair in pairs for leg in pair] == [
        ["CX401", "2024-05-16"],
        ["CX402", "2024-05-17"],
    ]


def test_direct_search_lists_only_bookable_dates(tools: AirlineTools) -> None:
    assert [f.flight_number for f in tools.search_direct_flight("JFK", "ORD", "2024-05-18")] == [
        "CX101"
    ]
    assert tools.search_direct_flight("JFK", "ORD", "2024-05-15") == []  # flying today


def test_booking_charges_and_takes_seats(db: AirlineDB, tools: AirlineTools) -> None:
    on_date = db.flights["CX301"].dates["2024-05-18"]
    assert on_date.status == "available"
    seats, price = on_date.available_seats["economy"], on_date.prices["economy"]
    result = tools.call(
        "book_reservation",
        {
            "user_id": "ava_moreno_1024",
            "origin": "BOS",
            "destination": "JFK",
            "flight_type": "one_way",
            "cabin": "economy",
            "flights": [{"flight_number": "CX301", "date": "2024-05-18"}],
            "passengers": [{"first_name": "Ava", "last_name": "Moreno", "dob": "1988-03-14"}],
            "payment_methods": [
                {"payment_id": "certificate_5500660", "amount": 100},
                {"payment_id": "gift_card_3300440", "amount": price + 50 - 100},
            ],
            "total_baggages": 1,
            "nonfree_baggages": 1,
            "insurance": "no",
        },
    )
    assert not result.error, result.output
    booked = json.loads(result.output)
    assert (booked["reservation_id"], booked["created_at"]) == ("HATHAT", NOW)
    assert on_date.available_seats["economy"] == seats - 1
    user = db.users["ava_moreno_1024"]
    assert "certificate_5500660" not in user.payment_methods  # consumed whole (150 > 100 used)
    gift = user.payment_methods["gift_card_3300440"]
    assert isinstance(gift, GiftCard)
    assert gift.amount == 180.0 - (price + 50 - 100)
    assert user.reservations[-1] == "HATHAT"


def test_cancel_refunds_on_paper_only(db: AirlineDB, tools: AirlineTools) -> None:
    gift = db.users["ava_moreno_1024"].payment_methods["gift_card_3300440"]
    before = gift.model_copy()
    reservation = tools.cancel_reservation("P3LX9D")  # basic economy, flown: policy says no
    assert reservation.status == "cancelled"
    assert [p.amount for p in reservation.payment_history] == [52, -52]
    assert gift == before


def test_downgrade_records_a_negative_payment(db: AirlineDB, tools: AirlineTools) -> None:
    reservation = tools.update_reservation_flights(
        "W8NB4T",
        "economy",
        [
            {"flight_number": "CX102", "date": "2024-05-17"},
            {"flight_number": "CX101", "date": "2024-05-19"},
        ],
        "credit_card_7700880",
    )
    assert reservation.cabin == "economy"
    assert reservation.payment_history[-1].amount < 0


def test_certificates_get_the_fixed_ids(db: AirlineDB, tools: AirlineTools) -> None:
    messages = [tools.send_certificate("noah_patel_2048", 50) for _ in range(3)]
    assert (
        messages[0]
        == "Certificate certificate_3221322 added to user noah_patel_2048 with amount 50."
    )
    assert isinstance(
        db.users["noah_patel_2048"].payment_methods["certificate_3221324"], Certificate
    )
    assert tools.call("send_certificate", {"user_id": "noah_patel_2048", "amount": 1}).output == (
        "Error: Too many certificates"
    )


def test_bad_arguments_become_error_text(tools: AirlineTools) -> None:
    result = tools.call("get_flight_status", {"flight_number": "CX101"})
    assert result.error
    assert result.output == (
        "Error: AirlineTools.get_flight_status() missing 1 required positional argument: 'date'"
    )
    result = tools.call("calculate", {"expression": "2 +"})
    assert result.error
    assert result.output.startswith("Error: ")


# ---- workbench (conformance's reusable working copy) -----------------------------------------


def test_workbench_reset_restores_every_write(db: AirlineDB) -> None:
    bench = Workbench(db)
    tools = AirlineTools(bench.db)
    tools.cancel_reservation("K7QZ2M")
    tools.send_certificate("lena_fischer_4096", 25)
    tools.update_reservation_baggages("W8NB4T", 3, 2, "credit_card_7700880")
    del bench.db.users["noah_patel_2048"]
    state = bench.state()
    assert state.texts == record_texts(bench.db)
    assert state.hash == db_hash(bench.db)
    full = json_diff(db_json(db), db_json(bench.db))
    assert len(full) > 5
    assert changes(bench.pristine.texts, state.texts) == full
    bench.reset()
    assert bench.db.model_dump_json() == db.model_dump_json()
    assert list(bench.db.users) == list(db.users)


def test_split_records_refuses_text_of_another_db(db: AirlineDB) -> None:
    other = copy_db(db)
    other.users["noah_patel_2048"].email = "changed@example.com"
    texts = record_texts(db)
    assert _split_records(db, other.model_dump_json(), texts) is None
    assert _split_records(db, db.model_dump_json(), texts) == texts


def test_workbench_is_rebuilt_when_the_pristine_db_changes(db: AirlineDB) -> None:
    first = workbench_for(db)
    assert workbench_for(db) is first
    db.users["noah_patel_2048"].email = "changed@example.com"
    second = workbench_for(db)
    assert second is not first
    assert second.db.users["noah_patel_2048"].email == "changed@example.com"


def test_busy_workbench_is_not_shared(db: AirlineDB) -> None:
    bench = workbench_for(db)
    with bench.borrowed() as mine:
        assert mine is bench
        AirlineTools(bench.db).cancel_reservation("K7QZ2M")
        with bench.borrowed() as other:
            assert other is None
        bench.state()
    assert bench.db.model_dump_json() == db.model_dump_json()  # reset on release
