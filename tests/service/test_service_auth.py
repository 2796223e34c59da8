"""Bearer tokens: no or a wrong token is 401; a tenant sees only its own sessions."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from service_support import TOKEN, Shared, assert_problem, client

from cxflow import Engine
from cxflow.errors import DataFileError
from cxflow.flows.plan_upgrade import PlanUpgrade
from cxflow.service import load_tokens


@pytest.mark.parametrize(
    ("authorization", "title", "challenge"),
    [
        (None, "Missing token", "Bearer"),
        ("Basic dXNlcjpwYXNz", "Missing token", "Bearer"),
        ("Bearer not-a-token", "Invalid token", 'Bearer error="invalid_token"'),
        (f"Bearer {TOKEN}x", "Invalid token", 'Bearer error="invalid_token"'),
    ],
)
def test_a_request_without_a_valid_token_is_401_and_changes_nothing(
    shared: Shared,
    authorization: str | None,
    title: str,
    challenge: str,
) -> None:
    url = shared.url
    sid = shared.engine.start("plan_upgrade", meta={"tenant": "default"}).id
    sessions = shared.session_count()
    headers = {"Authorization": authorization} if authorization else {}
    with client(url, token=None, **headers) as http:
        answers = [
            http.post("/v1/sessions", json={"flow": "plan_upgrade"}),
            http.post(f"/v1/sessions/{sid}/turns", json={"text": "555-014-3301"}),
            http.get(f"/v1/sessions/{sid}"),
            http.get(f"/v1/sessions/{sid}/turns"),
        ]
    for response in answers:
        body = assert_problem(response, 401, "unauthorized")
        assert body["title"] == title
        assert response.headers["www-authenticate"] == challenge
    assert shared.session_count() == sessions
    assert shared.engine.store.turns(sid) == []


def test_a_tenant_cannot_read_or_write_another_tenants_session(shared: Shared) -> None:
    url = shared.url
    with client(url, token="token-of-acme") as acme, client(url, token="token-of-globex") as globex:
        sid = acme.post("/v1/sessions", json={"flow": "plan_upgrade"}).json()["session_id"]
        acme.post(f"/v1/sessions/{sid}/turns", json={"text": PlanUpgrade.example[0]})

        answers = [
            globex.get(f"/v1/sessions/{sid}"),
            globex.get(f"/v1/sessions/{sid}/turns"),
            globex.post(f"/v1/sessions/{sid}/turns", json={"text": "555-014-3301"}),
        ]
        unknown = globex.get("/v1/sessions/no-such-session").json()
        mine = acme.get(f"/v1/sessions/{sid}")
    for response in answers:
        body = assert_problem(response, 404, "session-not-found")
        # exactly what an unknown session gets: the session's existence is not revealed
        assert body["title"] == unknown["title"]
        assert body["detail"] == unknown["detail"].replace("no-such-session", sid)
    assert mine.status_code == 200 and mine.json()["version"] == 1
    assert mine.json()["meta"]["tenant"] == "acme"
    assert len(shared.engine.store.turns(sid)) == 1


def test_the_default_tenant_sees_sessions_stored_without_a_tenant(shared: Shared) -> None:
    url = shared.url
    sid = shared.engine.start("plan_upgrade").id  # e.g. by `cxflow chat` on the same database
    with client(url) as default, client(url, token="token-of-acme") as acme:
        assert default.get(f"/v1/sessions/{sid}").status_code == 200
        assert acme.get(f"/v1/sessions/{sid}").status_code == 404


def test_without_auth_every_request_is_the_default_tenant(serve: Callable[..., str]) -> None:
    url = serve(Engine([PlanUpgrade]), tokens=None, allow_anonymous=True)
    with client(url, token=None) as http:
        created = http.post("/v1/sessions", json={"flow": "plan_upgrade"})
    assert created.status_code == 201
    assert created.json()["meta"] == {"tenant": "default"}


def test_tokens_files_map_tokens_to_tenants_in_json_or_toml(tmp_path: Path) -> None:
    as_json = tmp_path / "tokens.json"
    as_json.write_text(json.dumps({"tok-a": "acme", "tok-b": "globex"}))
    as_toml = tmp_path / "tokens.toml"
    as_toml.write_text('"tok-a" = "acme"\n"tok-b" = "globex"\n')
    assert load_tokens(as_json) == load_tokens(as_toml) == {"tok-a": "acme", "tok-b": "globex"}


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("t.json", '["tok"]', "mapping of token to tenant"),
        ("t.json", "{}", "mapping of token to tenant"),
        ("t.json", '{"tok": 3}', "must map to a tenant"),
        ("t.json", '{"tok": ', "not valid JSON"),
        ("t.toml", 'tok = "acme', "not valid TOML"),
        ("t.toml", '"" = "acme"', "a token is empty"),
    ],
)
def test_a_bad_tokens_file_says_what_is_wrong(
    tmp_path: Path, name: str, text: str, problem: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DataFileError, match=problem) as caught:
        load_tokens(path)
    assert caught.value.path == path
    with pytest.raises(DataFileError, match="cannot read"):
        load_tokens(tmp_path / "missing.toml")
