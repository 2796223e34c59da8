"""Retail DB: loader errors name file, record and field; the sample store; forks and copies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cxflow.errors import DataFileError
from cxflow.tools._tau2 import db_hash as tau2_db_hash
from cxflow.tools.retail import (
    GiftCard,
    RetailDB,
    RetailTools,
    copy_db,
    db_hash,
    db_json,
    load_retail_db,
    retail_data_path,
    sample_db_path,
)


def _sample_data() -> dict[str, dict[str, dict[str, object]]]:
    return json.loads(sample_db_path().read_text(encoding="utf-8"))


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# ---- loader ----------------------------------------------------------------------------------


def test_retail_data_path_points_into_the_tau2_folder() -> None:
    assert retail_data_path("/data/tau2") == Path("/data/tau2/retail/db.json")


def test_missing_file_raises_data_file_error(tmp_path: Path) -> None:
    with pytest.raises(DataFileError) as info:
        load_retail_db(tmp_path / "nope.json")
    assert "nope.json" in str(info.value)
    assert "not found" in str(info.value)
    assert "sample_db_path()" in str(info.value)


def test_malformed_json_raises_data_file_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"products": {', encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        load_retail_db(path)
    assert "broken.json" in str(info.value)
    assert "not valid UTF-8 JSON" in str(info.value)


def test_json_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataFileError) as info:
        load_retail_db(_write(tmp_path / "list.json", []))
    assert "got a JSON list" in str(info.value)


def test_wrong_typed_field_names_file_record_and_field(tmp_path: Path) -> None:
    data = _sample_data()
    data["orders"]["#W1000002"]["items"][0]["price"] = "cheap"  # type: ignore[index]
    with pytest.raises(DataFileError) as info:
        load_retail_db(_write(tmp_path / "store.json", data))
    err = info.value
    assert err.path.name == "store.json"
    assert err.record == "orders['#W1000002']"
    assert err.field == "items[0].price"
    assert "store.json, record orders['#W1000002'], field 'items[0].price'" in str(err)
    assert "'cheap'" in str(err)


def test_unknown_payment_source_is_located(tmp_path: Path) -> None:
    data = _sample_data()
    data["users"]["leo_marsh_1002"]["payment_methods"]["paypal_1200001"]["source"] = "cash"  # type: ignore[index]
    with pytest.raises(DataFileError) as info:
        load_retail_db(_write(tmp_path / "store.json", data))
    assert info.value.record == "users['leo_marsh_1002']"
    assert info.value.field == "payment_methods.paypal_1200001"


def test_unknown_table_is_refused(tmp_path: Path) -> None:
    data = {**_sample_data(), "coupons": {}}
    with pytest.raises(DataFileError) as info:
        load_retail_db(_write(tmp_path / "store.json", data))
    assert info.value.field == "coupons"


# ---- sample store ----------------------------------------------------------------------------


def test_sample_db_loads_with_an_order_in_every_basic_status() -> None:
    db = load_retail_db(sample_db_path())
    assert len(db.users) == 3
    assert {o.status for o in db.orders.values()} == {
        "pending",
        "processed",
        "delivered",
        "cancelled",
    }
    assert RetailDB.model_validate(db_json(db)) == db  # the JSON dump round-trips


def test_sample_db_references_are_consistent() -> None:
    db = load_retail_db(sample_db_path())
    variants = {
        item_id: (product, variant)
        for product in db.products.values()
        for item_id, variant in product.variants.items()
    }
    for product_id, product in db.products.items():
        assert product.product_id == product_id
        assert all(key == v.item_id for key, v in product.variants.items())
    for user_id, user in db.users.items():
        assert user.user_id == user_id
        assert all(key == m.id for key, m in user.payment_methods.items())
        assert all(db.orders[order_id].user_id == user_id for order_id in user.orders)
    for order_id, order in db.orders.items():
        assert order.order_id == order_id
        user = db.users[order.user_id]
        assert order_id in user.orders
        for item in order.items:
            product, variant = variants[item.item_id]
            assert (item.product_id, item.name) == (product.product_id, product.name)
            assert (item.price, item.options) == (variant.price, variant.options)
        shipped = [i for f in order.fulfillments for i in f.item_ids]
        assert sorted(shipped) in ([], sorted(i.item_id for i in order.items))
        assert all(p.payment_method_id in user.payment_methods for p in order.payment_history)
        paid = order.payment_history[0]
        assert paid.transaction_type == "payment"
        assert paid.amount == pytest.approx(sum(i.price for i in order.items))


# ---- copies and hashes -----------------------------------------------------------------------


def test_db_hash_is_taus_rule_on_the_full_dump() -> None:
    db = load_retail_db(sample_db_path())
    assert db_hash(db) == tau2_db_hash(db.model_dump())
    assert db.orders["#W1000001"].cancel_reason is None  # defaults are part of the hash
    assert "cancel_reason" in db.model_dump()["orders"]["#W1000001"]


def test_copy_db_shares_no_mutable_object() -> None:
    db = load_retail_db(sample_db_path())
    copy = copy_db(db)
    RetailTools(copy).cancel_pending_order("#W1000001", "no longer needed")
    assert db.orders["#W1000001"].status == "pending"
    assert db_hash(copy_db(db)) == db_hash(db)


def test_a_fork_and_its_parent_never_see_each_others_writes() -> None:
    parent = load_retail_db(sample_db_path())
    before = db_hash(parent)
    child = parent.fork()
    RetailTools(child).modify_pending_order_payment("#W1000001", "credit_card_1100001")
    assert db_hash(parent) == before
    RetailTools(parent).modify_user_address("ada_park_1001", "1 A St", "", "B", "OR", "USA", "1")
    assert child.users["ada_park_1001"].address.address1 == "12 Harbor Lane"
    assert len(parent.orders["#W1000001"].payment_history) == 1
    assert len(child.orders["#W1000001"].payment_history) == 3
    assert _balance(parent, "ada_park_1001", "gift_card_1100002") == 120.0
    assert _balance(child, "ada_park_1001", "gift_card_1100002") == 184.49


def test_forks_compare_by_content() -> None:
    parent = load_retail_db(sample_db_path())
    child = parent.fork()
    child.writable_order("#W1000001")  # copied, not changed
    assert child == parent
    RetailTools(child).cancel_pending_order("#W1000001", "ordered by mistake")
    assert child != parent


def test_a_fork_copies_a_record_once_then_writes_it_in_place() -> None:
    parent = load_retail_db(sample_db_path())
    child = parent.fork()
    first = child.writable_user("ada_park_1001")
    assert first is not parent.users["ada_park_1001"]
    assert child.writable_user("ada_park_1001") is first
    assert child.writable_user("nobody") is None


def _balance(db: RetailDB, user_id: str, card_id: str) -> float:
    card = db.users[user_id].payment_methods[card_id]
    assert isinstance(card, GiftCard)
    return card.balance
