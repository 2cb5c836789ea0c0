"""The staff session cookie: the one HTTP route that sets and clears it, and the two lines of
JavaScript that call the route from the page.

Why a route: a Streamlit script run answers over the websocket and cannot send Set-Cookie, and
a cookie written by JavaScript can never be http-only. So after a sign-in the page POSTs the
sign-in's one-time claim to this route, on the same origin, and the route answers with the
session token in a cookie that is HttpOnly (page scripts cannot read it), SameSite=Strict
(other sites cannot make the browser send it) and Secure when the request came over https
(directly, or per X-Forwarded-Proto from a trusted proxy). The token itself never reaches the
page. Requests must be JSON (a cross-site form cannot send that without a CORS preflight,
which this route never grants), at most 4 KB, and not marked cross-site by the browser.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from workbench.config import get_settings
from workbench.services import accounts

PATH = "/api/workbench/session"
MAX_BODY = 4096


def claim_script(claim: str) -> str:
    """A script for `st.html(..., unsafe_allow_javascript=True)` that exchanges the claim.
    The claim is URL-safe base64 (checked), so json.dumps yields a plain, inert literal."""
    if not claim.replace("-", "").replace("_", "").isalnum():
        raise ValueError("not a session claim")
    body = json.dumps({"claim": claim})
    return ("<script>fetch(" + json.dumps(PATH) + ",{method:'POST',credentials:'same-origin',"
            "headers:{'Content-Type':'application/json'},body:" + json.dumps(body) +
            "}).catch(function(){});</script>")


def clear_script() -> str:
    """A script that asks the route to end the session behind the cookie and drop it."""
    return ("<script>fetch(" + json.dumps(PATH) + ",{method:'DELETE',credentials:'same-origin',"
            "headers:{'Content-Type':'application/json'}}).catch(function(){});</script>")


def _engine():  # type: ignore[no-untyped-def]
    from workbench.services.context import get_engine

    return get_engine(get_settings())


def _peer(request: Request) -> str | None:
    return request.client.host if request.client else None


def _secure(request: Request) -> bool:
    if request.url.scheme == "https":
        return True
    return accounts.is_trusted_proxy(peer=_peer(request),
                                     trusted_proxies=get_settings().trusted_proxies) and \
        request.headers.get("x-forwarded-proto", "").strip().lower() == "https"


def _same_origin(request: Request) -> bool:
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    hosts = {request.headers.get("host", "")}
    if accounts.is_trusted_proxy(peer=_peer(request),
                                 trusted_proxies=get_settings().trusted_proxies):
        hosts.add(request.headers.get("x-forwarded-host", "").split(",")[0].strip())
    return urlsplit(origin).netloc in hosts - {""}


async def _json_body(request: Request) -> object:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return None
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _refused() -> Response:
    return JSONResponse({"ok": False}, status_code=403, headers={"Cache-Control": "no-store"})


async def session_endpoint(request: Request) -> Response:
    """POST {"claim": ...}: set the cookie. DELETE: end the cookie's session and drop it."""
    if not _same_origin(request):
        return _refused()
    body = await _json_body(request)
    if request.method == "DELETE":
        token = request.cookies.get(accounts.COOKIE_NAME)
        if token:
            await run_in_threadpool(lambda: accounts.end_staff_session(engine=_engine(),
                                                                       token=token))
        response = Response(status_code=204, headers={"Cache-Control": "no-store"})
        response.delete_cookie(accounts.COOKIE_NAME, path="/", secure=_secure(request),
                               httponly=True, samesite="strict")
        return response
    claim = body.get("claim") if isinstance(body, dict) else None
    cookie = await run_in_threadpool(
        lambda: accounts.claim_staff_session(engine=_engine(), claim=claim))
    if cookie is None:
        return _refused()
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.set_cookie(accounts.COOKIE_NAME, cookie.token, max_age=cookie.max_age_s, path="/",
                        secure=_secure(request), httponly=True, samesite="strict")
    return response
