"""Who may call the sandbox: the bearer key, the same for the PaymentKit
routes and the sandbox-only ones."""

from __future__ import annotations

import secrets

from starlette.requests import Request

from .refusals import unauthorized

__all__ = ["authorize"]


def authorize(request: Request, api_key: str) -> None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise unauthorized("Unauthorized: no Authorization header (send Authorization: Bearer <api key>)")
    # Compared as bytes: compare_digest refuses str with non-ASCII characters (a TypeError), and a
    # header's bytes arrive as Latin-1 text, so any byte a client sends must be an ordinary mismatch.
    sent = token.strip().encode("latin-1", "replace")
    if scheme.lower() != "bearer" or not secrets.compare_digest(sent, api_key.encode("utf-8")):
        raise unauthorized("Unauthorized: the API key is not valid for this sandbox")
