"""How a facade method becomes a request, and an answer becomes models.

The generated namespaces (`_generated_namespaces.py`) hand each call here as an
`Operation` and the caller's arguments. Arguments go through the generated
module's public seam: `build_request` (query names, the `metadata.<key>`
filters, the JSON body through the generated model) gives the request, the
transport sends it, and `parse_response` reads the answer. Nothing here
touches a private name of `payment_kit_client` (generator/README.md, "The seam").
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

import payment_kit_client.models as models
from payment_kit_client import errors as generated_errors
from payment_kit_client.model_runtime import FieldTypeError, answer_problems, validate_request

from ._errors import APIResponseValidationError
from ._pagination import AsyncPage, Page
from ._transport import Call, ClientOptions, as_timeout, check_retries, new_idempotency_key
from ._types import Operation, drop_not_given

if TYPE_CHECKING:
    from ._client import AsyncPaymentKit, PaymentKit

__all__ = ["AsyncResource", "RawResponse", "SyncResource"]

T = TypeVar("T")


@dataclass(frozen=True)
class RawResponse:
    """What `with client.with_raw_response() as raw:` records for each call."""

    operation: str
    status_code: int
    headers: httpx.Headers
    parsed: Any
    http_response: httpx.Response


_raw_sink: ContextVar[list[RawResponse] | None] = ContextVar("payment_kit_raw_responses", default=None)


def _wire(value: Any, where: str) -> Any:
    """A facade value as JSON-ready data: models, enums and decimals unwrapped."""
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return value.to_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{where}: {value} is not an amount")
        return format(value, "f")
    if isinstance(value, datetime | date):
        raise TypeError(f"{where}: PaymentKit takes Unix seconds here, e.g. int(moment.timestamp())")
    if isinstance(value, Mapping):
        return {str(k): _wire(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_wire(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def _exact_money(node: Any, steps: list[str], method: str, where: str = "") -> None:
    """Money at `steps` in the wire body as the decimal string PaymentKit takes: an int (or a
    Decimal) is exact and sent as its digits; a float is refused, naming where it is."""
    if not steps or not isinstance(node, dict | list):
        return
    step, rest = steps[0], steps[1:]
    if step == "[]":
        if isinstance(node, list):
            for i in range(len(node)):
                _exact_money_at(node, i, rest, method, f"{where}[{i}]")
    elif isinstance(node, dict) and step in node:
        _exact_money_at(node, step, rest, method, f"{where}.{step}" if where else step)


def _exact_money_at(parent: Any, key: Any, rest: list[str], method: str, where: str) -> None:
    value = parent[key]
    if rest:
        _exact_money(value, rest, method, where)
    elif isinstance(value, float):
        raise TypeError(f"{method}(): {where} is money: pass a decimal string, int or Decimal, not a float")
    elif isinstance(value, int) and not isinstance(value, bool):
        parent[key] = str(value)


def build_call(op: Operation, args: dict[str, Any], livemode: bool, options: ClientOptions) -> Call:
    """One call: the generated request kwargs, the client's options with this call's
    `timeout` / `max_retries` / `extra_headers`, and its idempotency key (writes only)."""
    given = drop_not_given(args)
    overrides: dict[str, Any] = {}
    if "timeout" in given:
        overrides["timeout"] = as_timeout(given.pop("timeout"))
    if "max_retries" in given:
        overrides["max_retries"] = check_retries(given.pop("max_retries"))
    if "extra_headers" in given:
        overrides["headers"] = {**options.headers, **given.pop("extra_headers")}
    kwargs, key = build_request(op, given, livemode)
    return Call(kwargs, options.merged(**overrides) if overrides else options, key)


def build_request(op: Operation, given: dict[str, Any], livemode: bool) -> tuple[dict[str, Any], str | None]:
    """The generated request kwargs for a call's arguments, and its idempotency key (writes only)."""
    given = dict(given)
    generated = op.generated()
    positional = []
    for name in op.path_params:
        value = given.pop(name)
        if not isinstance(value, str) or not value:
            raise ValueError(f"{op.name}(): {name} must be a non-empty string, not {value!r}")
        positional.append(value)
    idempotency_key = given.pop("idempotency_key", None) if op.is_write else None
    if op.is_write and idempotency_key is None:
        idempotency_key = new_idempotency_key()
    call_livemode = given.pop("livemode", livemode)
    query: dict[str, Any] = {}
    if "livemode" in op.query.values():
        query["livemode"] = call_livemode
    body: dict[str, Any] = {}
    for name, value in given.items():
        if name in op.query:
            if name == "metadata":
                value = models.MetadataQuery.from_dict({f"metadata.{k}": str(v) for k, v in value.items()})
            elif name in op.query_enums:
                value = getattr(models, op.query_enums[name])(_wire(value, name))
            elif isinstance(value, Decimal | enum.Enum):
                value = _wire(value, name)
            query[op.query[name]] = value
        elif name in op.body_fields:
            body[op.body_fields[name]] = _wire(value, name)
        else:  # the generated signatures make this unreachable for typed callers
            raise TypeError(f"{op.name}() got an unexpected keyword argument {name!r}")
    if op.body_livemode is not None and "livemode" not in body:
        body["livemode"] = int(call_livemode) if op.body_livemode == "integer" else call_livemode
    for path in op.money_paths:
        _exact_money(body, path.replace("[]", ".[]").split("."), op.name)
    if op.body_model is not None:
        model = getattr(models, op.body_model)
        try:
            validate_request(model, body)
            query["body"] = model.from_dict(body)
        except KeyError as exc:
            raise TypeError(f"{op.name}(): {exc.args[0]} is required (the document requires it)") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise TypeError(f"{op.name}(): invalid argument: {exc}") from None
    kwargs: dict[str, Any] = generated.build_request(*positional, **query)
    return kwargs, idempotency_key


# Every operation's documented success is 200 (tests/test_spec.py holds the document to it).
DOCUMENTED_SUCCESS = 200
# How many of an answer's departures from the document a strict-mode error lists.
PROBLEMS_SHOWN = 5


def parse(op: Operation, response: httpx.Response, strict: bool = False) -> Any:
    """The answer as the generated model (or list of models) the document names.

    Read leniently (generator/runtime/model_runtime.py): a real server's answer that lacks a
    field, adds one or sends a newer enum value still parses. Another 2xx than the documented
    200 is read as the 200 answer. With `strict`, any departure from the document, status
    included, is an `APIResponseValidationError`."""
    if response.status_code != DOCUMENTED_SUCCESS:
        if strict:
            reason = f"status {response.status_code}, where the document says {DOCUMENTED_SUCCESS} for {op.name}"
            raise APIResponseValidationError(response=response, reason=reason)
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-encoding"]
        documented = httpx.Response(DOCUMENTED_SUCCESS, headers=headers, content=response.content)
    else:
        documented = response
    try:
        parsed = op.generated().parse_response(documented)
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError, generated_errors.UnexpectedStatus) as exc:
        raise APIResponseValidationError(response=response, reason=_unreadable(response, exc)) from None
    if parsed is None or isinstance(parsed, models.ErrorResponse):
        raise APIResponseValidationError(response=response, reason="the body is not the documented answer")
    if strict:
        found = [
            problem
            for model in (parsed if isinstance(parsed, list) else [parsed])
            for problem in answer_problems(model)
        ]
        if found:
            more = f" (and {len(found) - PROBLEMS_SHOWN} more)" if len(found) > PROBLEMS_SHOWN else ""
            reason = "the answer departs from the document: " + "; ".join(found[:PROBLEMS_SHOWN]) + more
            raise APIResponseValidationError(response=response, reason=reason)
    sink = _raw_sink.get()
    if sink is not None:
        sink.append(RawResponse(op.name, response.status_code, response.headers, parsed, response))
    return parsed


def _unreadable(response: httpx.Response, exc: BaseException) -> str:
    if not response.content:
        return "the body is empty"
    if not response.headers.get("content-type", "").startswith("application/json"):
        return f"not JSON (content-type {response.headers.get('content-type')!r})"
    if isinstance(exc, RecursionError):
        return "the JSON is nested too deeply to read"
    return f"{type(exc).__name__}: {exc}"


def page_fields(op: Operation, args: dict[str, Any], parsed: Any, response: httpx.Response) -> dict[str, Any]:
    """The parts of a `Page` that one answer gives (plain-array lists are one page). A page
    without `list` has no rows; without `count`, its rows are all there are."""
    try:
        items = list(parsed if op.result == "array" else parsed.list_ or [])
        count = parsed.count if op.result != "array" else None
    except FieldTypeError as exc:
        raise APIResponseValidationError(response=response, reason=str(exc)) from None
    if not isinstance(count, int):
        count = len(items)
    page, page_size = args.get("page"), args.get("page_size")
    return {
        "count": count,
        "items": items,
        "page": page if isinstance(page, int) else 1,
        "page_size": page_size if isinstance(page_size, int) else None,
        "paginated": op.paginated,
    }


class SyncResource:
    """Base of every sync namespace: one client, shared by all its namespaces."""

    def __init__(self, client: PaymentKit) -> None:
        self._client = client

    def _call(self, op: Operation, args: dict[str, Any], result: type[T]) -> T:
        client = self._client
        call = build_call(op, args, client.environments.get_live_mode(), client._options)
        parsed: T = parse(op, client._transport.send(call), call.options.strict_responses)
        return parsed

    def _list(self, op: Operation, args: dict[str, Any], item: type[T]) -> Page[T]:
        client = self._client
        call = build_call(op, args, client.environments.get_live_mode(), client._options)
        response = client._transport.send(call)
        parsed = parse(op, response, call.options.strict_responses)

        def fetch(number: int, size: int) -> Page[T]:
            return self._list(op, {**args, "page": number, "page_size": size}, item)

        return Page(**page_fields(op, args, parsed, response), fetch=fetch)


class AsyncResource:
    """Base of every async namespace."""

    def __init__(self, client: AsyncPaymentKit) -> None:
        self._client = client

    async def _call(self, op: Operation, args: dict[str, Any], result: type[T]) -> T:
        client = self._client
        call = build_call(op, args, client.environments.get_live_mode(), client._options)
        parsed: T = parse(op, await client._transport.send(call), call.options.strict_responses)
        return parsed

    async def _list(self, op: Operation, args: dict[str, Any], item: type[T]) -> AsyncPage[T]:
        client = self._client
        call = build_call(op, args, client.environments.get_live_mode(), client._options)
        response = await client._transport.send(call)
        parsed = parse(op, response, call.options.strict_responses)

        async def fetch(number: int, size: int) -> AsyncPage[T]:
            return await self._list(op, {**args, "page": number, "page_size": size}, item)

        return AsyncPage(**page_fields(op, args, parsed, response), fetch=fetch)
