"""Every facade method, sync and async, against a real server that does not agree with the
document (tests/imperfect_server.py): each operation's documented answer served with each
required field dropped in turn, with fields the document does not know, with enum values it
does not list, with a value of the wrong type, as 201 and as 204, as an HTML page, trickled
and oversized.

What a user gets (README, "Reliability"): a lenient client reads what it can (a missing field
reads as None, a newer enum value as its string, unknown fields are kept, a mistyped field
raises `FieldTypeError` when read); an answer that cannot be the documented one is an
`APIResponseValidationError`; a strict client refuses any departure. Nothing else escapes.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from facade_calls import ROWS, answer_for, method_of, operation_for, required_arguments, resolve, spec_operation
from imperfect_server import ImperfectServer, Reply

import payment_kit_client.models as models
from payment_kit import (
    APIResponseValidationError,
    APITimeoutError,
    AsyncPaymentKit,
    FieldTypeError,
    PaymentKit,
    PaymentKitError,
)
from payment_kit._types import Operation
from payment_kit_client.model_runtime import STR, AsEnum, AsList, AsModel, Model

NEWER_ENUM_VALUE = "value_from_a_newer_paymentkit"
EXTRA = {"field_from_a_newer_paymentkit": {"nested": [1, "two", None]}}
IDS = [f"{r['python_namespace']}.{r['python_method']}" for r in ROWS]


@pytest.fixture(scope="module")
def server() -> Iterator[ImperfectServer]:
    with ImperfectServer() as running:
        yield running


@dataclass(frozen=True)
class Case:
    label: str
    reply: Reply
    check: Callable[[Any], None] | None  # None: the call must raise APIResponseValidationError


def encoded(answer: Any) -> bytes:
    return json.dumps(answer).encode()


def answer_models(op: Operation) -> tuple[type[Model] | None, type[Model]]:
    """The page model (None for an object or a bare array) and the model of the object the
    checks inspect: the answer itself, or a list answer's rows."""
    schema = spec_operation(op)[1]["responses"]["200"]["content"]["application/json"]["schema"]
    if resolve(schema).get("type") == "array":  # a bare array
        return None, getattr(models, resolve(schema)["items"]["$ref"].rsplit("/", 1)[1])
    cls: type[Model] = getattr(models, schema["$ref"].rsplit("/", 1)[1])
    if op.result == "object":
        return None, cls
    rows = cls._DECODERS["list"]
    assert isinstance(rows, AsList) and isinstance(rows.item, AsModel)
    return cls, rows.item.resolve()


def the_object(result: Any) -> Any:
    """The model a case inspects: the answer itself, or a list answer's first row."""
    if isinstance(result, Model):
        return result
    return result.list[0]


def reads_none(key: str) -> Callable[[Any], None]:
    def check(result: Any) -> None:
        obj = the_object(result)
        assert key not in obj and obj.get(key) is None
        assert all(getattr(obj, name) is None for name, wire in type(obj)._NAMES.items() if wire == key)

    return check


def reads_as_sent(sent: dict[str, Any]) -> Callable[[Any], None]:
    def check(result: Any) -> None:
        assert the_object(result).to_dict() == sent

    return check


def reads_string(key: str) -> Callable[[Any], None]:
    def check(result: Any) -> None:
        value = the_object(result)[key]
        assert value == NEWER_ENUM_VALUE and type(value) is str

    return check


def raises_on_read(key: str) -> Callable[[Any], None]:
    def check(result: Any) -> None:
        obj = the_object(result)
        with pytest.raises(FieldTypeError, match=rf"^{type(obj).__name__}\.{key}: "):
            obj[key]
        obj.to_dict()  # the rest of the answer is intact

    return check


def succeeds(result: Any) -> None:
    assert result is not None


def cases(op: Operation) -> list[Case]:
    answer = answer_for(op)
    page_model, model = answer_models(op)
    found: list[Case] = [Case("as documented", Reply(body=encoded(answer)), succeeds)]

    def with_object(change: Callable[[dict[str, Any]], None]) -> tuple[bytes, dict[str, Any]]:
        """The answer with `change` applied to the object the checks inspect."""
        changed = copy.deepcopy(answer)
        target = changed if op.result == "object" else (changed if isinstance(changed, list) else changed["list"])[0]
        change(target)
        return encoded(changed), target

    for key in sorted(model._REQUIRED):
        body, _ = with_object(lambda obj, key=key: obj.pop(key, None))
        found.append(Case(f"without {model.__name__}.{key}", Reply(body=body), reads_none(key)))
    if page_model is not None:
        for key in sorted(page_model._REQUIRED):
            page = {k: v for k, v in answer.items() if k != key}
            found.append(Case(f"a page without {key}", Reply(body=encoded(page)), succeeds))
    body, sent = with_object(lambda obj: obj.update(EXTRA))
    found.append(Case("with unknown fields", Reply(body=body), reads_as_sent(sent)))
    for key, decoder in sorted(model._DECODERS.items()):
        if isinstance(decoder, AsEnum):
            body, _ = with_object(lambda obj, key=key: obj.update({key: NEWER_ENUM_VALUE}))
            found.append(Case(f"a newer {model.__name__}.{key}", Reply(body=body), reads_string(key)))
    mistyped = next((key for key, check in sorted(model._PLAIN.items()) if check is STR), None)
    if mistyped is not None:
        body, _ = with_object(lambda obj: obj.update({mistyped: 12345}))
        found.append(Case(f"a number for {model.__name__}.{mistyped}", Reply(body=body), raises_on_read(mistyped)))
    found += [
        Case("as 201", Reply(status=201, body=encoded(answer)), reads_as_sent(with_object(lambda obj: None)[1])),
        Case("as 204, with no body", Reply(status=204, body=b""), None),
        Case("as an HTML page", Reply(body=b"<html><body>Welcome!</body></html>", content_type="text/html"), None),
        Case("as JSON of another shape", Reply(body=b'"a string"'), None),
    ]
    return found


def strict_cases(op: Operation) -> list[Case]:
    answer = answer_for(op)
    _, model = answer_models(op)
    found = [
        Case("as documented", Reply(body=encoded(answer)), succeeds),
        Case("as 201", Reply(status=201, body=encoded(answer)), None),
    ]
    if model._REQUIRED:
        changed = copy.deepcopy(answer)
        target = changed if op.result == "object" else (changed if isinstance(changed, list) else changed["list"])[0]
        del target[min(model._REQUIRED)]
        found.append(Case(f"without {model.__name__}.{min(model._REQUIRED)}", Reply(body=encoded(changed)), None))
    return found


def judge(case: Case, result: Any, error: Exception | None) -> None:
    """A call's outcome against its case; anything but success or a PaymentKitError fails the
    test, naming the case."""
    if error is None:
        assert case.check is not None, f"{case.label}: answered {result!r} where a validation error was due"
        case.check(result)
    elif not isinstance(error, PaymentKitError):
        raise AssertionError(f"{case.label}: {type(error).__name__} escaped: {error}") from error
    elif case.check is not None or not isinstance(error, APIResponseValidationError):
        raise AssertionError(f"{case.label}: {type(error).__name__}: {error}") from error


def lenient_client(server: ImperfectServer, **options: Any) -> PaymentKit:
    return PaymentKit(base_url=server.base_url, api_key="k", max_retries=0, strict_responses=False, **options)


def lenient_async_client(server: ImperfectServer, **options: Any) -> AsyncPaymentKit:
    return AsyncPaymentKit(base_url=server.base_url, api_key="k", max_retries=0, strict_responses=False, **options)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_every_sync_method_reads_an_imperfect_answer_as_documented(
    server: ImperfectServer, row: dict[str, str]
) -> None:
    op = operation_for(row)
    positional, kwargs = required_arguments(op)
    with lenient_client(server) as client, PaymentKit(base_url=server.base_url, strict_responses=True) as strict:
        for client_cases, on in ((cases(op), client), (strict_cases(op), strict)):
            for case in client_cases:
                server.reply = case.reply
                result, error = None, None
                try:
                    result = method_of(on, row)(*positional, **kwargs)
                except Exception as exc:  # judged below: only PaymentKitError may escape
                    error = exc
                judge(case, result, error)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
async def test_every_async_method_reads_an_imperfect_answer_as_documented(
    server: ImperfectServer, row: dict[str, str]
) -> None:
    op = operation_for(row)
    positional, kwargs = required_arguments(op)
    async with (
        lenient_async_client(server) as client,
        AsyncPaymentKit(base_url=server.base_url, strict_responses=True) as strict,
    ):
        for client_cases, on in ((cases(op), client), (strict_cases(op), strict)):
            for case in client_cases:
                server.reply = case.reply
                result, error = None, None
                try:
                    result = await method_of(on, row)(*positional, **kwargs)
                except Exception as exc:  # judged below: only PaymentKitError may escape
                    error = exc
                judge(case, result, error)


# A trickled answer: headers at once, then a byte every 0.2 s: whole only after 40 s, far longer
# than the timeout. A call ending within a few timeouts (130 at once, on a busy two-core CI
# machine) shows the deadline at work; without it, each would take the whole 40 s.
TIMEOUT = 1.0
TRICKLE = Reply(body=b'{"id": "' + b"x" * 200 + b'"}', trickle_every=0.2)
ENDED_WITHIN = TIMEOUT * 5


def test_a_trickled_answer_ends_every_sync_call_at_its_timeout(server: ImperfectServer) -> None:
    server.reply = TRICKLE

    def one(row: dict[str, str]) -> float:
        op = operation_for(row)
        positional, kwargs = required_arguments(op)
        started = time.monotonic()
        with lenient_client(server, timeout=TIMEOUT) as client, pytest.raises(APITimeoutError):
            method_of(client, row)(*positional, **kwargs)
        return time.monotonic() - started

    with ThreadPoolExecutor(max_workers=len(ROWS)) as pool:
        took = list(pool.map(one, ROWS))
    assert max(took) < ENDED_WITHIN, max(took)


async def test_a_trickled_answer_ends_every_async_call_at_its_timeout(server: ImperfectServer) -> None:
    server.reply = TRICKLE

    async def one(client: AsyncPaymentKit, row: dict[str, str]) -> float:
        op = operation_for(row)
        positional, kwargs = required_arguments(op)
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            await method_of(client, row)(*positional, **kwargs)
        return time.monotonic() - started

    async with lenient_async_client(server, timeout=TIMEOUT) as client:
        took = await asyncio.gather(*(one(client, row) for row in ROWS))
    assert max(took) < ENDED_WITHIN, max(took)


def oversized(op: Operation) -> Reply:
    """The documented answer with a megabyte of padding in a field the document does not know."""
    answer = answer_for(op)
    padded = {"padding": "x" * 2**20, "answer": answer}
    return Reply(body=encoded(padded if isinstance(answer, list) else {**answer, **padded}))


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_an_oversized_answer_is_refused_by_every_method(server: ImperfectServer, flavour: str) -> None:
    cap = 64 * 1024
    for row in ROWS:
        op = operation_for(row)
        positional, kwargs = required_arguments(op)
        server.reply = oversized(op)
        with pytest.raises(APIResponseValidationError, match="65,536 bytes"):
            if flavour == "sync":
                with lenient_client(server, max_response_bytes=cap) as client:
                    method_of(client, row)(*positional, **kwargs)
            else:
                async with lenient_async_client(server, max_response_bytes=cap) as client:
                    await method_of(client, row)(*positional, **kwargs)
