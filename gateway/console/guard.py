"""What keeps console pages safe: security headers, the session cookie, CSRF tokens.

Signed-in forms carry the session's own CSRF token (kept server-side with the session);
the forms before sign-in (sign-in, invitation) use a double-submit cookie. Every POST is
refused with a 403 page unless its token matches.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "hub_console"
PRE_COOKIE = "hub_console_pre"
LANG_COOKIE = "hub_console_lang"
PATH = "/console"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Pages may show survivor data: never kept by the browser or a proxy.
    "Cache-Control": "no-store",
}


def secure_cookies(public_url: str) -> bool:
    """Cookies are ``Secure`` except for plain-HTTP development on the loopback address,
    where a browser would otherwise never send them back."""
    return not public_url.startswith(("http://127.0.0.1", "http://localhost"))


def protect(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers[name] = value
    return response


def set_session_cookie(response: Response, session_id: str, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE, session_id, path=PATH, secure=secure, httponly=True, samesite="lax"
    )


def clear_session_cookie(response: Response, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, path=PATH, secure=secure, httponly=True, samesite="lax")


def pre_token(request: Request) -> str:
    """The double-submit token of a visitor not yet signed in (made when missing)."""
    return request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(32)


def set_pre_cookie(response: Response, token: str, secure: bool) -> None:
    response.set_cookie(
        PRE_COOKIE, token, path=PATH, secure=secure, httponly=True, samesite="strict"
    )


def token_matches(expected: str | None, given: object) -> bool:
    return (
        isinstance(expected, str)
        and isinstance(given, str)
        and bool(expected)
        and hmac.compare_digest(expected.encode(), given.encode())
    )
