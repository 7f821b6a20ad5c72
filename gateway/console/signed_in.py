"""What every signed-in console page does before its own work, in one place so that no
page can forget it: find the person behind the session cookie or send the browser to the
sign-in page, and refuse a POST whose CSRF token is not the session's with the 403 page.

A handler decorated with ``signed_in`` receives the person; where it reads a form it
calls ``checked_form`` at the point it always did (some pages check a role before the
form, and the order of refusals is part of what a page answers). A refused token is an
exception of its own, not a ``HubError``, so a handler's ``except HubError`` never turns
it into another page.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from gateway.console import guard
from orgs.principal import Principal
from orgs.staff import Person
from store.errors import ErrorCode, HubError

SIGN_IN = "/console/sign-in"


class Sessions(Protocol):
    """What the checks need of the console (``pages.Console``, which imports the page
    modules, so they name it only through this)."""

    async def person(self, request: Request) -> Person | None: ...

    def csrf_refused(self, request: Request, person: Person | None) -> Response: ...


class Page(Protocol):
    """A page's owner: the console itself or a group of pages holding it."""

    @property
    def console(self) -> Sessions: ...


P = TypeVar("P", bound=Page)


class FormRefused(Exception):
    """The form's CSRF token is missing or not the session's."""


def see_other(path: str) -> Response:
    """The 303 after a form (or to the sign-in page), with the console's headers."""
    return guard.protect(RedirectResponse(path, status_code=303))


async def checked_form(request: Request, person: Person) -> FormData:
    """The POST's form, if it carries the session's CSRF token; else ``FormRefused``,
    which ``signed_in`` answers with the 403 page."""
    form = await request.form()
    if not guard.token_matches(person.csrf_token, form.get("csrf")):
        raise FormRefused
    return form


def need_scope(actor: Principal, scope: str) -> None:
    """FORBIDDEN unless the person's role holds ``scope``, worded as the API's refusal."""
    if not actor.has(scope):
        raise HubError(ErrorCode.FORBIDDEN, f"this operation needs the '{scope}' scope")


def signed_in(
    handler: Callable[[P, Request, Person], Awaitable[Response]],
) -> Callable[[P, Request], Awaitable[Response]]:
    """The handler, called with the signed-in person; without one, the sign-in page."""

    @functools.wraps(handler)
    async def page(owner: P, request: Request) -> Response:
        person = await owner.console.person(request)
        if person is None:
            return see_other(SIGN_IN)
        try:
            return await handler(owner, request, person)
        except FormRefused:
            return owner.console.csrf_refused(request, person)

    return page
