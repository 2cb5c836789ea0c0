"""Staff sessions (SQLite and PostgreSQL) and the route that sets their cookie: a claim works
once, tokens are stored hashed, sessions expire idle and absolute and end on sign-out, a new
password and deactivation; the cookie is http-only, SameSite=Strict and Secure over https."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from tests.training_support import PASSWORD
from workbench.domain.enums import Role
from workbench.services import accounts
from workbench.storage.tables import StaffSession, utcnow
from workbench.ui import session_cookie

pytestmark = pytest.mark.usefixtures("fast_hashing")


def signed_in(engine: sa.Engine, code: str = "exp", now=None) -> accounts.StaffSignIn:  # type: ignore[no-untyped-def]
    if not any(u.code == code for u in accounts.list_staff(engine=engine)):
        accounts.create_staff(engine=engine, code=code, role=Role.expert, password=PASSWORD)
    return accounts.sign_in_with_session(engine=engine, code=code, password=PASSWORD, now=now)


def test_a_claim_gives_one_cookie_once_and_only_hashes_are_stored(engine: sa.Engine) -> None:
    opened = signed_in(engine)
    cookie = accounts.claim_staff_session(engine=engine, claim=opened.claim)
    assert cookie is not None and cookie.max_age_s > 11 * 3600
    assert accounts.claim_staff_session(engine=engine, claim=opened.claim) is None  # twice
    with Session(engine) as s:
        [row] = s.exec(select(StaffSession)).all()
    assert row.token_hash == hashlib.sha256(cookie.token.encode()).hexdigest()
    assert row.claim_hash is None
    stored = " ".join(str(v) for v in row.model_dump().values())
    assert cookie.token not in stored and opened.claim not in stored
    live = accounts.resume_staff_session(engine=engine, token=cookie.token)
    assert live is not None and live.user.code == "exp" and live.cookie_set


def test_the_same_claim_sent_at_once_gives_one_cookie(engine: sa.Engine) -> None:
    opened = signed_in(engine)
    got: list[object] = []
    barrier = threading.Barrier(10)

    def claim() -> None:
        barrier.wait()
        got.append(accounts.claim_staff_session(engine=engine, claim=opened.claim))

    threads = [threading.Thread(target=claim) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(c is not None for c in got) == 1


def test_a_claim_expires_after_two_minutes(engine: sa.Engine) -> None:
    t0 = utcnow()
    opened = signed_in(engine, now=t0)
    assert accounts.claim_staff_session(engine=engine, claim=opened.claim,
                                        now=t0 + timedelta(minutes=2)) is None
    # The tab that signed in still works; only a refresh would need the cookie.
    assert accounts.check_staff_session(engine=engine, session_id=opened.session_id,
                                        now=t0 + timedelta(minutes=2)) is not None


def _cookie(engine: sa.Engine, now):  # type: ignore[no-untyped-def]
    opened = signed_in(engine, now=now)
    cookie = accounts.claim_staff_session(engine=engine, claim=opened.claim, now=now)
    assert cookie is not None
    return opened, cookie.token


def test_sessions_expire_when_idle_and_after_a_working_day(engine: sa.Engine) -> None:
    t0 = utcnow()
    _, token = _cookie(engine, t0)
    idle = t0 + accounts.SESSION_IDLE
    assert accounts.resume_staff_session(engine=engine, token=token, now=idle) is None
    _, busy = _cookie(engine, t0)
    now = t0
    while now + timedelta(hours=1) < t0 + accounts.SESSION_MAX:  # used every hour
        now += timedelta(hours=1)
        assert accounts.resume_staff_session(engine=engine, token=busy, now=now) is not None
    assert accounts.resume_staff_session(engine=engine, token=busy,
                                         now=t0 + accounts.SESSION_MAX) is None


def test_sign_out_a_new_password_and_deactivation_end_sessions(engine: sa.Engine) -> None:
    t0 = utcnow()
    opened, token = _cookie(engine, t0)
    assert accounts.end_staff_session(engine=engine, session_id=opened.session_id)
    assert not accounts.end_staff_session(engine=engine, session_id=opened.session_id)  # twice
    assert accounts.resume_staff_session(engine=engine, token=token) is None
    _, by_cookie = _cookie(engine, t0)
    assert accounts.end_staff_session(engine=engine, token=by_cookie)  # the route's DELETE
    assert accounts.resume_staff_session(engine=engine, token=by_cookie) is None

    _, token = _cookie(engine, t0)
    accounts.set_password(engine=engine, code="exp", password="een-heel-nieuw-wachtwoord")
    assert accounts.resume_staff_session(engine=engine, token=token) is None
    accounts.set_password(engine=engine, code="exp", password=PASSWORD)

    fac = accounts.create_staff(engine=engine, code="fac", role=Role.facilitator,
                                password=PASSWORD)
    _, token = _cookie(engine, t0)
    accounts.deactivate_staff(engine=engine, code="exp", deactivated_by=fac.code)
    assert accounts.resume_staff_session(engine=engine, token=token) is None
    with pytest.raises(accounts.AuthError):
        accounts.sign_in(engine=engine, code="exp", password=PASSWORD)


@pytest.mark.parametrize("secret", [None, "", "x", "A" * 43 + "\x00", "é" * 43, "A" * 200,
                                    "A" * 10_000_000, {"claim": "x"}, ["A" * 43], 12345])
def test_odd_tokens_and_claims_are_refused_without_a_query(engine: sa.Engine,
                                                           secret: object) -> None:
    signed_in(engine)
    assert accounts.claim_staff_session(engine=engine, claim=secret) is None
    assert accounts.resume_staff_session(engine=engine, token=secret) is None
    assert not accounts.end_staff_session(engine=engine, token=secret)


# --- the route ------------------------------------------------------------------------------


@pytest.fixture
def client(eng: sa.Engine) -> TestClient:
    app = Starlette(routes=[Route(session_cookie.PATH, session_cookie.session_endpoint,
                                  methods=["POST", "DELETE"])])
    return TestClient(app)


def post(client: TestClient, body: object, **headers: str):  # type: ignore[no-untyped-def]
    import json

    return client.post(session_cookie.PATH, content=json.dumps(body),
                       headers={"Content-Type": "application/json", **headers})


def test_the_route_sets_an_http_only_strict_cookie(eng: sa.Engine, client: TestClient) -> None:
    opened = signed_in(eng)
    r = post(client, {"claim": opened.claim}, Origin="http://testserver",
             **{"Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 204
    header = r.headers["set-cookie"]
    assert header.startswith(f"{accounts.COOKIE_NAME}=")
    attrs = {a.strip().split("=")[0].lower() for a in header.split(";")}
    assert {"httponly", "samesite", "path", "max-age"} <= attrs
    assert "samesite=strict" in header.lower() and "secure" not in attrs  # plain http here
    token = r.cookies[accounts.COOKIE_NAME]
    assert accounts.resume_staff_session(engine=eng, token=token) is not None
    assert post(client, {"claim": opened.claim}).status_code == 403  # used


def test_over_https_the_cookie_is_secure(eng: sa.Engine) -> None:
    app = Starlette(routes=[Route(session_cookie.PATH, session_cookie.session_endpoint,
                                  methods=["POST"])])
    opened = signed_in(eng)
    r = post(TestClient(app, base_url="https://testserver"), {"claim": opened.claim})
    assert r.status_code == 204 and "secure" in r.headers["set-cookie"].lower()


def test_x_forwarded_proto_counts_only_from_a_trusted_proxy(
        eng: sa.Engine, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.config import get_settings

    forged = post(client, {"claim": signed_in(eng).claim}, **{"X-Forwarded-Proto": "https"})
    assert "secure" not in forged.headers["set-cookie"].lower()
    # TestClient's peer is not an address, which counts as loopback.
    monkeypatch.setenv("WORKBENCH_TRUSTED_PROXIES", "127.0.0.1")
    get_settings.cache_clear()
    trusted = post(client, {"claim": signed_in(eng).claim}, **{"X-Forwarded-Proto": "https"})
    assert "secure" in trusted.headers["set-cookie"].lower()
    get_settings.cache_clear()


@pytest.mark.parametrize("headers,body", [
    ({"Sec-Fetch-Site": "cross-site"}, "claim"),
    ({"Sec-Fetch-Site": "same-site"}, "claim"),
    ({"Origin": "https://evil.example"}, "claim"),
    ({"Content-Type": "text/plain"}, "claim"),
    ({}, "not json"),
    ({}, "x" * 5000),
    ({}, {"claim": "A" * 43}),
])
def test_the_route_refuses_anything_else(eng: sa.Engine, client: TestClient,
                                         headers: dict[str, str], body: object) -> None:
    import json

    opened = signed_in(eng)
    payload = json.dumps({"claim": opened.claim}) if body == "claim" else \
        body if isinstance(body, str) else json.dumps(body)
    r = client.post(session_cookie.PATH, content=payload,
                    headers={"Content-Type": "application/json", **headers})
    assert r.status_code == 403 and "set-cookie" not in r.headers
    if body == "claim":  # a refused request does not use up the claim
        assert accounts.claim_staff_session(engine=eng, claim=opened.claim) is not None


def test_delete_ends_the_cookies_session_and_drops_it(eng: sa.Engine, client: TestClient
                                                      ) -> None:
    opened = signed_in(eng)
    token = post(client, {"claim": opened.claim}).cookies[accounts.COOKIE_NAME]
    r = client.delete(session_cookie.PATH, headers={"Content-Type": "application/json"})
    assert r.status_code == 204
    assert 'max-age=0' in r.headers["set-cookie"].lower()
    assert accounts.resume_staff_session(engine=eng, token=token) is None


def test_the_page_script_carries_only_the_claim() -> None:
    script = session_cookie.claim_script("abc-DEF_123")
    assert "abc-DEF_123" in script and session_cookie.PATH in script
    for odd in ("</script><script>alert(1)", "a'b", 'a"b', ""):
        with pytest.raises(ValueError):
            session_cookie.claim_script(odd)
