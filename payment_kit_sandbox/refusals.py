"""Refusals the sandbox answers with, as PaymentKit does: a status and
`{"error": "<message naming the problem>"}`."""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "bad_request", "conflict", "not_found", "unauthorized"]


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.message}
        if self.code:
            out["code"] = self.code
        return out


def bad_request(message: str, code: str | None = None) -> ApiError:
    return ApiError(400, message, code)


def unauthorized(message: str = "Unauthorized: send Authorization: Bearer <api key>") -> ApiError:
    return ApiError(401, message)


def not_found(kind: str, key: str) -> ApiError:
    return ApiError(404, f"{kind} not found: {key}")


def conflict(message: str) -> ApiError:
    return ApiError(409, message)
