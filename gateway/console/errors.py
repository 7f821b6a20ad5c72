"""What the console says for each documented error code, as catalog message ids.

A page never shows a service's own English text (it may name internals, and it is not
translated): a refusal is shown by its code, through this table and the catalogs. The
table covers every code of README's "extensions.code" list, plus the console's own
``CSRF``; a test fails when a code is documented without a message here, or a message
lacks a language.
"""

from __future__ import annotations

from store.errors import ErrorCode

CSRF = "CSRF"
# A write about a survivor whose data was erased (the API's CONFLICT with its own message).
ERASED = "ERASED"

SIGN_IN_REFUSED = (
    "Sign-in refused. Check your email, password and code, or wait a while and try again."
)

ERROR_MESSAGES: dict[str, str] = {
    ErrorCode.UNAUTHENTICATED: SIGN_IN_REFUSED,
    ErrorCode.FORBIDDEN: "Your role does not allow this.",
    ErrorCode.NOT_FOUND: "Not found, or not shared with your organisation.",
    ErrorCode.BAD_USER_INPUT: "Something in the form is missing or wrong.",
    ErrorCode.CONFLICT: "Someone else changed this first. Reload and try again.",
    ErrorCode.INVALID_TRANSITION: "This step is not possible in the current status.",
    ErrorCode.CONSENT_REQUIRED: "The survivor's consent does not cover this.",
    ErrorCode.RATE_LIMITED: "Too many requests. Wait a minute and try again.",
    ErrorCode.INTERNAL: "Something went wrong on the hub. Try again later or tell the operator.",
    ErrorCode.UNAVAILABLE: (
        "The hub cannot reach its database just now. Try again in a few minutes."
    ),
    ErrorCode.BAD_REQUEST: "The request could not be read. Reload the page and try again.",
    ErrorCode.METHOD_NOT_ALLOWED: "This address does not accept that kind of request.",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "This kind of file or content is not accepted.",
    ErrorCode.OPERATION_NOT_ALLOWED: "This operation is not allowed this way.",
    ErrorCode.PAYLOAD_TOO_LARGE: "What was sent is too large.",
    ERASED: "Her data was erased: nothing more can be written about her case.",
    CSRF: (
        "This form has expired or did not come from this console. "
        "Go back, reload the page and try again."
    ),
}


def error_message(code: str) -> str:
    """The message id for a code; an unknown code reads as an internal error, never as
    whatever text came with it."""
    return ERROR_MESSAGES.get(code, ERROR_MESSAGES[ErrorCode.INTERNAL])
