"""Idempotency keys and concurrent turns, on SQLite and PostgreSQL, across replicas."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
from service_support import CountingCrm, Shared, SlowRules, UnreachableStore, assert_problem, client

from cxflow import Engine, MemoryStore
from cxflow.flows.plan_upgrade import PlanUpgrade

TO_QUOTE = PlanUpgrade.example[:3]


def start_and_quote(http: httpx2.Client) -> str:
    """A session brought to the price quote (the next "yes" changes the plan); its id."""
    sid = http.post("/v1/sessions", json={"flow": "plan_upgrade"}).json()["session_id"]
    for line in TO_QUOTE:
        assert http.post(f"/v1/sessions/{sid}/turns", json={"text": line}).status_code == 200
    return sid


def both(*calls: Callable[[], httpx2.Response]) -> list[httpx2.Response]:
    """Send the requests at the same time; their responses in order."""
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_a_retried_turn_returns_the_same_turn_and_writes_once(
    serve: Callable[..., str],
    store_url: str,
    engine_at: Callable[..., Engine],
    crm: CountingCrm,
) -> None:
    engine = engine_at(store_url)
    url = serve(engine)
    with client(url) as http:
        sid = start_and_quote(http)
        key = {"Idempotency-Key": "confirm-7f3a"}
        first = http.post(f"/v1/sessions/{sid}/turns", json={"text": "yes"}, headers=key)
        retry = http.post(f"/v1/sessions/{sid}/turns", json={"text": "yes"}, headers=key)
    assert first.status_code == retry.status_code == 200
    assert first.json()["state"] == "changed"
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert crm.changes == 1
    assert [r.turn for r in engine.store.turns(sid)] == [1, 2, 3, 4]


def test_a_retried_create_returns_the_same_session(shared: Shared) -> None:
    url, sessions = shared.url, shared.session_count()
    key = {"Idempotency-Key": "new-session-1"}
    with client(url) as http:
        first = http.post("/v1/sessions", json={"flow": "plan_upgrade"}, headers=key)
        retry = http.post("/v1/sessions", json={"flow": "plan_upgrade"}, headers=key)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert shared.session_count() == sessions + 1


def test_the_same_key_for_a_different_request_is_422_and_runs_nothing(shared: Shared) -> None:
    url, sessions = shared.url, shared.session_count()
    key = {"Idempotency-Key": "reused"}
    with client(url) as http:
        sid = http.post("/v1/sessions", json={"flow": "plan_upgrade"}).json()["session_id"]
        http.post(f"/v1/sessions/{sid}/turns", json={"text": TO_QUOTE[0]}, headers=key)
        other_text = http.post(f"/v1/sessions/{sid}/turns", json={"text": "hi"}, headers=key)
        other_route = http.post("/v1/sessions", json={"flow": "plan_upgrade"}, headers=key)
    for response in (other_text, other_route):
        body = assert_problem(response, 422, "idempotency-key-reused")
        assert "'reused'" in body["detail"] and "new key" in body["detail"]
    assert len(shared.engine.store.turns(sid)) == 1
    assert shared.session_count() == sessions + 1


def test_keys_belong_to_a_tenant(shared: Shared) -> None:
    url = shared.url
    key = {"Idempotency-Key": "same-key"}
    with client(url, token="token-of-acme") as acme, client(url, token="token-of-globex") as globex:
        one = acme.post("/v1/sessions", json={"flow": "plan_upgrade"}, headers=key).json()
        two = globex.post("/v1/sessions", json={"flow": "plan_upgrade"}, headers=key).json()
    assert one["session_id"] != two["session_id"]
    assert (one["meta"]["tenant"], two["meta"]["tenant"]) == ("acme", "globex")


def test_a_failed_request_releases_its_key_so_the_retry_runs(
    serve: Callable[..., str],
) -> None:
    store = UnreachableStore()
    engine = Engine([PlanUpgrade], store=store)
    url = serve(engine)
    key = {"Idempotency-Key": "during-outage"}
    with client(url) as http:
        sid = http.post("/v1/sessions", json={"flow": "plan_upgrade"}).json()["session_id"]
        store.down = True
        failed = http.post(f"/v1/sessions/{sid}/turns", json={"text": TO_QUOTE[0]}, headers=key)
        store.down = False
        retried = http.post(f"/v1/sessions/{sid}/turns", json={"text": TO_QUOTE[0]}, headers=key)
    assert_problem(failed, 503, "store-unavailable")
    assert retried.status_code == 200 and retried.json()["turn"] == 1
    assert "idempotent-replayed" not in retried.headers
    assert len(store.turns(sid)) == 1


def test_two_identical_requests_at_once_run_once(serve: Callable[..., str]) -> None:
    interpreter = SlowRules(delay_s=0.3)
    engine = Engine([PlanUpgrade], store=MemoryStore(), interpreter=interpreter)
    url = serve(engine)
    key = {"Idempotency-Key": "double-click"}
    with client(url) as http:
        sid = http.post("/v1/sessions", json={"flow": "plan_upgrade"}).json()["session_id"]

        def send() -> httpx2.Response:
            return http.post(f"/v1/sessions/{sid}/turns", json={"text": TO_QUOTE[0]}, headers=key)

        one, two = both(send, send)
    assert one.status_code == two.status_code == 200
    assert one.json() == two.json()
    assert interpreter.calls == 1
    assert len(engine.store.turns(sid)) == 1


def test_a_retry_while_the_first_request_still_runs_is_409_then_replayed(
    serve: Callable[..., str],
) -> None:
    interpreter = SlowRules(delay_s=0.3)
    engine = Engine([PlanUpgrade], store=MemoryStore(), interpreter=interpreter)
    url = serve(engine, idempotency_wait_s=0.05)
    key = {"Idempotency-Key": "impatient"}
    with client(url) as http:
        sid = http.post("/v1/sessions", json={"flow": "plan_upgrade"}).json()["session_id"]

        def send() -> httpx2.Response:
            return http.post(f"/v1/sessions/{sid}/turns", json={"text": TO_QUOTE[0]}, headers=key)

        answers = both(send, send)
        later = send()
    assert sorted(r.status_code for r in answers) == [200, 409]
    waiting = next(r for r in answers if r.status_code == 409)
    body = assert_problem(waiting, 409, "request-in-progress")
    assert "'impatient'" in body["detail"] and waiting.headers["retry-after"]
    done = next(r for r in answers if r.status_code == 200)
    assert later.json() == done.json() and later.headers["idempotent-replayed"] == "true"
    assert interpreter.calls == 1


def replicas(
    serve: Callable[..., str], engine_at: Callable[..., Engine], url: str, **options: Any
) -> tuple[list[Engine], list[str]]:
    """Two services on one database, each with its own store, as two processes would be."""
    engines = [engine_at(url, interpreter=SlowRules(delay_s=0.3)) for _ in range(2)]
    return engines, [serve(engine, **options) for engine in engines]


def test_replicas_sharing_a_database_honour_each_others_keys(
    serve: Callable[..., str], store_url: str, engine_at: Callable[..., Engine]
) -> None:
    engines, urls = replicas(serve, engine_at, store_url)
    key = {"Idempotency-Key": "retry-via-the-other-replica"}
    with client(urls[0]) as a, client(urls[1]) as b:
        sid = a.post("/v1/sessions", json={"flow": "plan_upgrade"}).json()["session_id"]
        path, text = f"/v1/sessions/{sid}/turns", {"text": TO_QUOTE[0]}
        one, two = both(
            lambda: a.post(path, json=text, headers=key),
            lambda: b.post(path, json=text, headers=key),
        )
        later = b.post(path, json=text, headers=key)
    assert one.status_code == two.status_code == later.status_code == 200
    assert one.json() == two.json() == later.json()
    calls = [e.interpreter.calls for e in engines]  # type: ignore[attr-defined]
    assert sorted(calls) == [0, 1]
    assert len(engines[0].store.turns(sid)) == 1


def test_turns_sent_to_two_replicas_at_once_are_applied_one_after_the_other(
    serve: Callable[..., str], store_url: str, engine_at: Callable[..., Engine]
) -> None:
    engines, urls = replicas(serve, engine_at, store_url)
    with client(urls[0]) as a, client(urls[1]) as b:
        sid = a.post("/v1/sessions", json={"flow": "plan_upgrade"}).json()["session_id"]
        path = f"/v1/sessions/{sid}/turns"
        one, two = both(
            lambda: a.post(path, json={"text": "hello"}),
            lambda: b.post(path, json={"text": "I want to change my plan"}),
        )
    assert one.status_code == two.status_code == 200, (one.text, two.text)
    assert sorted([one.json()["turn"], two.json()["turn"]]) == [1, 2]
    records = engines[0].store.turns(sid)
    assert sorted(r.customer_text for r in records) == ["I want to change my plan", "hello"]
    # the loser saw the winner's commit, reloaded and ran its turn again on the new state
    assert sum(e.interpreter.calls for e in engines) == 3  # type: ignore[attr-defined]


def test_a_turn_that_keeps_losing_the_race_is_409_retry(
    serve: Callable[..., str], tmp_path: Path, engine_at: Callable[..., Engine]
) -> None:
    engines, urls = replicas(serve, engine_at, str(tmp_path / "cx.db"), turn_attempts=1)
    with client(urls[0]) as a, client(urls[1]) as b:
        sid = a.post("/v1/sessions", json={"flow": "plan_upgrade"}).json()["session_id"]
        path = f"/v1/sessions/{sid}/turns"
        answers = both(
            lambda: a.post(path, json={"text": "hello"}),
            lambda: b.post(path, json={"text": "hi there"}),
        )
    codes = sorted(r.status_code for r in answers)
    assert codes == [200, 409]
    lost = next(r for r in answers if r.status_code == 409)
    body = assert_problem(lost, 409, "conflict")
    assert "Retry" in body["detail"] and lost.headers["retry-after"]
    assert len(engines[0].store.turns(sid)) == 1
