"""The HTTP service end to end: sessions, turns, response shapes, problem+json errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from service_support import PROBLEM, CountingCrm, Shared, UnreachableStore, assert_problem, client

from cxflow import Engine
from cxflow.errors import FlowRuntimeError, UsageError
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.interpreter import Interpretation, TurnView
from cxflow.service import create_app
from cxflow.sql_store import SqlStore

TURN_KEYS = {
    "turn",
    "reply",
    "state",
    "flow",
    "slots",
    "done",
    "outcome",
    "rejected",
    "divergences",
}
SESSION_KEYS = {"session_id", "flow", "state", "slots", "done", "outcome", "version", "reply"}


def test_a_whole_conversation_runs_to_done_and_is_stored(shared: Shared, crm: CountingCrm) -> None:
    url = shared.url
    with client(url) as http:
        created = http.post("/v1/sessions", json={"flow": "plan_upgrade"})
        assert created.status_code == 201
        session = created.json()
        assert set(session) >= SESSION_KEYS
        sid = session["session_id"]
        assert created.headers["location"] == f"/v1/sessions/{sid}"
        assert (session["flow"], session["state"], session["version"]) == (
            "plan_upgrade",
            "identify",
            0,
        )
        assert "phone number" in session["reply"]
        assert session["meta"] == {"tenant": "default"}

        turns = []
        for line in PlanUpgrade.example:
            response = http.post(f"/v1/sessions/{sid}/turns", json={"text": line})
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/json"
            assert response.headers["server-timing"].startswith("turn;dur=")
            turns.append(response.json())

        assert all(set(t) >= TURN_KEYS for t in turns)
        assert [t["turn"] for t in turns] == [1, 2, 3, 4]
        assert [t["done"] for t in turns] == [False, False, False, True]
        last = turns[-1]
        assert (last["state"], last["outcome"]) == ("changed", "completed")
        assert last["slots"]["target_plan_name"] == "Everyday 20"
        assert "Everyday 20" in last["reply"]
        assert crm.changes == 1

        now = http.get(f"/v1/sessions/{sid}").json()
        assert (now["state"], now["done"], now["version"]) == ("changed", True, 4)
        assert now["reply"] == last["reply"]

        records = http.get(f"/v1/sessions/{sid}/turns").json()
    assert records["session_id"] == sid
    assert [r["customer_text"] for r in records["turns"]] == list(PlanUpgrade.example)
    assert [r["turn"] for r in records["turns"]] == [1, 2, 3, 4]
    # the stored records, exactly as the store keeps them
    stored = shared.engine.store.turns(sid)
    assert records["turns"] == [r.model_dump(mode="json") for r in stored]


def test_a_turn_after_the_end_is_409_conversation_ended(shared: Shared) -> None:
    url = shared.url
    with client(url) as http:
        sid = http.post("/v1/sessions", json={"flow": "plan_upgrade"}).json()["session_id"]
        for line in PlanUpgrade.example:
            http.post(f"/v1/sessions/{sid}/turns", json={"text": line})
        again = http.post(f"/v1/sessions/{sid}/turns", json={"text": "and another thing"})
    body = assert_problem(again, 409, "conversation-ended")
    assert "start a new session" in body["detail"]
    assert len(shared.engine.store.turns(sid)) == 4


def test_an_unknown_flow_is_404_listing_the_flows_served(shared: Shared) -> None:
    url, sessions = shared.url, shared.session_count()
    with client(url) as http:
        response = http.post("/v1/sessions", json={"flow": "plan_upgrad"})
    body = assert_problem(response, 404, "unknown-flow")
    assert body["known_flows"] == ["plan_upgrade"]
    assert "'plan_upgrad'" in body["detail"] and "plan_upgrade" in body["detail"]
    assert shared.session_count() == sessions


def test_an_unknown_session_is_404_for_every_route(shared: Shared) -> None:
    url = shared.url
    with client(url) as http:
        answers = [
            http.get("/v1/sessions/nope"),
            http.get("/v1/sessions/nope/turns"),
            http.post("/v1/sessions/nope/turns", json={"text": "hello"}),
        ]
    for response in answers:
        body = assert_problem(response, 404, "session-not-found")
        assert "'nope'" in body["detail"]
        assert body["instance"] == response.request.url.path


@pytest.mark.parametrize(
    ("body", "status", "kind", "fields"),
    [
        (b'{"text": ', 400, "malformed-json", None),
        (b"{}", 422, "invalid-request", ["text"]),
        (b'{"text": ""}', 422, "invalid-request", ["text"]),
        (b'{"text": 5}', 422, "invalid-request", ["text"]),
        (b'{"txt": "hi"}', 422, "invalid-request", ["text", "txt"]),
        (b'["hi"]', 422, "invalid-request", ["body"]),
    ],
)
def test_a_bad_turn_body_is_a_problem_naming_the_fields(
    shared: Shared,
    body: bytes,
    status: int,
    kind: str,
    fields: list[str] | None,
) -> None:
    url = shared.url
    with client(url, **{"content-type": "application/json"}) as http:
        sid = http.post("/v1/sessions", json={"flow": "plan_upgrade"}).json()["session_id"]
        response = http.post(f"/v1/sessions/{sid}/turns", content=body)
    problem = assert_problem(response, status, kind)
    if fields is None:
        assert "errors" not in problem
    else:
        assert sorted(e["field"] for e in problem["errors"]) == fields
        assert all(e["location"] == "body" and e["message"] for e in problem["errors"])
    assert shared.engine.store.turns(sid) == []


def test_the_tenant_meta_key_is_set_by_the_service_not_the_client(shared: Shared) -> None:
    url = shared.url
    with client(url) as http:
        refused = http.post(
            "/v1/sessions", json={"flow": "plan_upgrade", "meta": {"tenant": "acme"}}
        )
        kept = http.post("/v1/sessions", json={"flow": "plan_upgrade", "meta": {"channel": "web"}})
    problem = assert_problem(refused, 422, "invalid-request")
    assert problem["errors"][0]["field"] == "meta.tenant"
    assert kept.json()["meta"] == {"channel": "web", "tenant": "default"}


def test_openapi_and_docs_are_served_without_a_token(shared: Shared) -> None:
    url = shared.url
    with client(url, token=None) as http:
        spec = http.get("/openapi.json")
        docs = http.get("/docs")
        health = http.get("/healthz")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert set(paths) == {
        "/v1/sessions",
        "/v1/sessions/{session_id}",
        "/v1/sessions/{session_id}/turns",
    }
    assert set(paths["/v1/sessions/{session_id}/turns"]) == {"get", "post"}
    post_turn = paths["/v1/sessions/{session_id}/turns"]["post"]
    assert PROBLEM in post_turn["responses"]["404"]["content"]
    assert any(p["name"] == "Idempotency-Key" for p in post_turn["parameters"])
    assert "HTTPBearer" in spec.json()["components"]["securitySchemes"]
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert health.json() == {"status": "ok"}


def test_an_unknown_route_is_a_problem_too(shared: Shared) -> None:
    url = shared.url
    with client(url) as http:
        assert_problem(http.get("/v1/nothing"), 404, "http")
        assert_problem(http.delete("/v1/sessions"), 405, "http")


class ExplodingInterpreter:
    """Programmer errors inside a turn (not model mistakes): a plain bug, or a cxflow error."""

    name = "exploding"

    async def interpret(self, view: TurnView, text: str) -> Interpretation:
        if text == "bug":
            raise RuntimeError("secret-internal-detail at /srv/app.py:12")
        raise FlowRuntimeError("secret-flow-detail: state 'x' has no way out")


def test_an_unexpected_error_is_a_500_problem_that_reveals_nothing(
    serve: Callable[..., str], tmp_path: Path
) -> None:
    store = SqlStore(tmp_path / "cx.db")
    engine = Engine([PlanUpgrade], store=store, interpreter=ExplodingInterpreter())
    url = serve(engine)
    with client(url) as http:
        sid = http.post("/v1/sessions", json={"flow": "plan_upgrade"}).json()["session_id"]
    answers = []
    for text in ("bug", "flow"):
        with client(url) as http:  # uvicorn closes the connection after an unhandled error
            answers.append(http.post(f"/v1/sessions/{sid}/turns", json={"text": text}))
    for response in answers:
        assert_problem(response, 500, "internal")
        assert "secret" not in response.text and "Error" not in response.text
    assert engine.store.turns(sid) == []
    store.close()


def test_a_store_outage_is_503_retry_later_without_the_store_message(
    serve: Callable[..., str],
) -> None:
    store = UnreachableStore()
    url = serve(Engine([PlanUpgrade], store=store))
    with client(url) as http:
        sid = http.post("/v1/sessions", json={"flow": "plan_upgrade"}).json()["session_id"]
        store.down = True
        response = http.post(f"/v1/sessions/{sid}/turns", json={"text": "555-014-3301"})
    assert_problem(response, 503, "store-unavailable")
    assert response.headers["retry-after"]
    assert "hunter2" not in response.text and "db.internal" not in response.text


def test_the_app_refuses_to_start_without_tokens_unless_told_to() -> None:
    engine = Engine([PlanUpgrade])
    with pytest.raises(UsageError, match="CXFLOW_API_TOKEN"):
        create_app(engine)
    with pytest.raises(UsageError, match="not both"):
        create_app(engine, tokens={"t": "default"}, allow_anonymous=True)
    with pytest.raises(UsageError, match="turn_attempts"):
        create_app(engine, tokens={"t": "default"}, turn_attempts=0)
    create_app(engine, allow_anonymous=True)  # local development
