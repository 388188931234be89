"""The exceptions a PaymentKit call can raise.

    PaymentKitError
    ├── APIError                       (the server was reached, or should have been)
    │   ├── APIConnectionError         (no answer: DNS, refused, reset, …)
    │   │   └── APITimeoutError
    │   ├── APIResponseValidationError (a 2xx whose body is not what the document says)
    │   └── APIStatusError             (a 4xx/5xx answer)
    │       ├── BadRequestError            400
    │       ├── AuthenticationError        401
    │       ├── PermissionDeniedError      403
    │       ├── NotFoundError              404
    │       ├── ConflictError              409
    │       ├── UnprocessableEntityError   422
    │       ├── RateLimitError             429
    │       └── InternalServerError        5xx
    ├── ConfigurationError             (the client cannot make a request at all)
    └── SignatureVerificationError     (a webhook delivery that cannot be trusted; `reason` says why)

Messages never contain the API key: they are built from the method, the
path and the server's answer only.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "InternalServerError",
    "NoMorePagesError",
    "NotFoundError",
    "PaymentKitError",
    "PermissionDeniedError",
    "RateLimitError",
    "SignatureVerificationError",
    "UnprocessableEntityError",
]

_MAX_TEXT_IN_MESSAGE = 300


class PaymentKitError(Exception):
    """Base class of every exception this SDK raises."""


class ConfigurationError(PaymentKitError):
    """The client is missing something it needs before it can send (e.g. a base URL)."""


class SignatureVerificationError(PaymentKitError, ValueError):
    """A webhook delivery failed verification (`payment_kit.webhooks.construct_event`).

    `reason` is one of `missing_header`, `malformed_header`, `stale_timestamp`,
    `bad_signature` and `malformed_payload`; the message says which header or
    check, never the secret or the expected signature.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class NoMorePagesError(PaymentKitError, LookupError):
    """`next_page()` was called on the last page: check `has_next_page()` first, or walk
    every row with `auto_paging_iter()`."""


class APIError(PaymentKitError):
    """A call to PaymentKit failed. `request` is the request that was sent."""

    def __init__(self, message: str, *, request: httpx.Request) -> None:
        super().__init__(message)
        self.message = message
        self.request = request


class APIConnectionError(APIError):
    """No answer from the server (connection refused or reset, DNS failure, …)."""

    def __init__(self, *, request: httpx.Request, message: str | None = None) -> None:
        super().__init__(message or f"Connection error: {_where(request)}", request=request)


class APITimeoutError(APIConnectionError):
    """The server did not answer within the timeout."""

    def __init__(self, *, request: httpx.Request) -> None:
        super().__init__(request=request, message=f"Request timed out: {_where(request)}")


class APIResponseValidationError(APIError):
    """A successful answer whose body does not have the documented shape."""

    def __init__(self, *, response: httpx.Response, reason: str) -> None:
        super().__init__(
            f"Unexpected answer to {_where(response.request)} ({response.status_code}): {reason}",
            request=response.request,
        )
        self.response = response
        self.status_code = response.status_code


class APIStatusError(APIError):
    """The server answered with a 4xx or 5xx status.

    Attributes: `status_code`, `message` (the server's own message when it gave
    one), `code` (PaymentKit's error code, if any), `body` (the parsed JSON
    body, or the text when it was not JSON), `response` and `request`.
    """

    def __init__(self, message: str, *, response: httpx.Response, body: Any, server_message: str | None) -> None:
        super().__init__(message, request=response.request)
        self.response = response
        self.status_code = response.status_code
        self.body = body
        self.server_message = server_message
        code = body.get("code") if isinstance(body, dict) else None
        self.code: str | None = code if isinstance(code, str) else None
        self.request_id = response.headers.get("x-request-id")


class BadRequestError(APIStatusError):
    """400: the request was malformed or refused; the message names the problem."""


class AuthenticationError(APIStatusError):
    """401: no credentials, or credentials the server does not accept."""


class PermissionDeniedError(APIStatusError):
    """403: the credentials are not allowed to do this."""


class NotFoundError(APIStatusError):
    """404: no such object in this mode (live or test)."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the object's current state."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was understood but cannot be processed."""


class RateLimitError(APIStatusError):
    """429: too many requests."""


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def _where(request: httpx.Request) -> str:
    return f"{request.method} {request.url.path}"


def status_error(response: httpx.Response) -> APIStatusError:
    """The typed exception for an error answer, readable whatever its body is."""
    text = response.text
    body: Any
    server_message: str | None = None
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = text
    if isinstance(body, dict):
        for key in ("error", "message"):
            value = body.get(key)
            if isinstance(value, str) and value:
                server_message = value
                break
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                server_message = value["message"]
                break
    if server_message is None and isinstance(body, str) and body.strip():
        # A proxy's HTML error page: keep a readable excerpt, not the markup.
        server_message = " ".join(_strip_markup(body).split())[:_MAX_TEXT_IN_MESSAGE] or None
    reason = response.reason_phrase or "error"
    detail = server_message or reason
    message = f"{response.status_code} {reason} from {_where(response.request)}: {detail}"
    cls = _BY_STATUS.get(response.status_code)
    if cls is None:
        cls = InternalServerError if response.status_code >= 500 else APIStatusError
    return cls(message, response=response, body=body, server_message=server_message)


def _strip_markup(text: str) -> str:
    out, inside = [], False
    for ch in text:
        if ch == "<":
            inside = True
        elif ch == ">":
            inside = False
            out.append(" ")
        elif not inside:
            out.append(ch)
    return "".join(out)
