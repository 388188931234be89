"""The sandbox's body limit, and its fallback for unexpected failures, as ASGI middleware driven
message by message (no server): the paths a real client reaches only by timing (a body in several
chunks, a client gone mid-body, a header that is not a number, a failure mid-answer)."""

from __future__ import annotations

from typing import Any

import pytest

from payment_kit_sandbox.body_limits import BodyLimit
from payment_kit_sandbox.internal_errors import AnswerUnexpected


class Exchange:
    """One request's messages in, and what the middleware and the app did with them."""

    def __init__(self, *messages: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.incoming = list(messages)
        self.scope = {"type": "http", "headers": headers or []}
        self.sent: list[dict[str, Any]] = []
        self.app_saw: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        return self.incoming.pop(0) if self.incoming else {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        self.app_saw.append(await receive())
        self.app_saw.append(await receive())  # past the body: the client going away

    async def run(self, max_body: int) -> Exchange:
        await BodyLimit(self.app, max_body=max_body)(self.scope, self.receive, self.send)
        return self


def chunk(body: bytes, more: bool) -> dict[str, Any]:
    return {"type": "http.request", "body": body, "more_body": more}


async def test_a_body_in_chunks_under_the_limit_reaches_the_app_whole() -> None:
    done = await Exchange(chunk(b'{"a":', True), chunk(b"1}", False)).run(max_body=10)
    assert done.app_saw == [chunk(b'{"a":1}', False), {"type": "http.disconnect"}] and done.sent == []


async def test_chunks_that_pass_the_limit_are_refused_before_the_rest_is_read() -> None:
    done = await Exchange(chunk(b"x" * 8, True), chunk(b"x" * 8, True), chunk(b"never read", False)).run(max_body=10)
    assert done.sent[0]["status"] == 413 and b"more than 10 bytes" in done.sent[1]["body"]
    assert done.app_saw == [] and done.incoming == [chunk(b"never read", False)]


async def test_a_client_gone_mid_body_reaches_nothing() -> None:
    done = await Exchange(chunk(b"x", True), {"type": "http.disconnect"}).run(max_body=10)
    assert done.sent == [] and done.app_saw == []


async def test_a_content_length_that_is_not_a_number_is_read_like_a_chunked_body() -> None:
    done = await Exchange(chunk(b"x" * 11, False), headers=[(b"content-length", b"eleven")]).run(max_body=10)
    assert done.sent[0]["status"] == 413 and done.app_saw == []


async def test_a_failure_after_the_answer_started_is_left_to_the_server() -> None:
    """AnswerUnexpected answers a 500 only while no answer has started: after the start, a second
    answer would corrupt the first, so the failure goes on to the server (which closes the connection)."""
    sent: list[dict[str, Any]] = []

    async def starts_then_fails(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("failed mid-answer")

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": []}
    with pytest.raises(RuntimeError, match="failed mid-answer"):
        await AnswerUnexpected(starts_then_fails)(scope, receive, send)
    assert [m["type"] for m in sent] == ["http.response.start"]


async def test_a_failure_before_the_answer_is_a_500_naming_its_error_id() -> None:
    sent: list[dict[str, Any]] = []

    async def fails(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("a sandbox bug")

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": [], "query_string": b""}
    await AnswerUnexpected(fails)(scope, receive, send)
    assert sent[0]["status"] == 500 and b"error_id" in sent[1]["body"]
