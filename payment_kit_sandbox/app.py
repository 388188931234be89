"""The sandbox's HTTP layer: routes, auth, and request validation, all
derived from the OpenAPI document; handlers are looked up by operationId."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal
from types import ModuleType
from typing import Any

import jsonschema
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import hosted_pages, resources, sandbox_routes, strict_json
from .auth import authorize
from .body_limits import MAX_BODY_BYTES, BodyLimit
from .context import Context, Handler, Wiring
from .database import Store, StoreBusy
from .document import Document, OperationDoc, Parameter, load_document
from .engine import auto_recharge, checkout, credit_packs, credits, events, subscriptions, webhooks
from .fault_injection import exit_after_commits
from .internal_errors import AnswerUnexpected, busy, unexpected
from .query_forms import QueryList, bracket_base, fold_lists
from .refusals import ApiError, bad_request
from .seed import seed

__all__ = ["SandboxConfig", "Wired", "create_app", "wire"]

logger = logging.getLogger("payment_kit_sandbox")


class SandboxConfig:
    def __init__(
        self,
        *,
        db: str = ":memory:",
        api_key: str | None = None,
        validate_responses: bool = False,
        document: Document | None = None,
        require_all_handlers: bool = True,
        max_body: int = MAX_BODY_BYTES,
        workers: int = 1,
        webhook_worker: bool = True,
    ) -> None:
        self.max_body = max_body
        # False: no background worker delivers this sandbox's webhooks; its owner makes the deliveries
        # (`engine.webhooks.deliver_due`, as payment_kit.testing does, inside the request's caller).
        self.webhook_worker = webhook_worker
        self.workers = workers  # processes serving this database (a restart of the only one takes over its queue)
        self.require_all_handlers = require_all_handlers
        self.db = db
        self.api_key = api_key or f"sk_sandbox_{secrets.token_hex(12)}"
        self.validate_responses = validate_responses
        self.document = document or load_document()


CLOCK_STEPS = (
    subscriptions.advance_subscriptions,
    checkout.expire_due,
    credit_packs.advance_schedules,
    credits.advance_grants,
)
"""What a clock advance runs, in this order (the one place it is written):

1. subscriptions: renewals, trial ends, scheduled cancellations and resumes that fell due
   (their invoices are raised and paid here, so later steps see them);
2. checkout sessions past `expires_at` expire (independent of the others);
3. subscriptions' credit schedules make the grants that fell due (after the renewals, so a
   schedule waiting on a first payment sees it);
4. credit grants expire or become usable last, after the renewals and schedules that may have
   granted credit, so a grant made during the advance is already brought up to the clock.
"""


@dataclass(frozen=True)
class Wired:
    """Everything `create_app` wires: what requests share, and which function answers what."""

    wiring: Wiring
    handlers: dict[str, Handler]
    """operationId -> handler."""
    sandbox_routes: dict[tuple[str, str], Handler]
    """(method, path) -> handler of a sandbox-only route."""


def wire(document: Document, modules: tuple[ModuleType, ...] = resources.MODULES) -> Wired:
    """Collect the handlers the resource modules mark, and choose the clock's steps and the engine's hooks."""
    handlers: dict[str, Handler] = {}
    routes: dict[tuple[str, str], Handler] = {(fn.sandbox_route): fn for fn in sandbox_routes.OWN_ROUTES}  # type: ignore[attr-defined]
    for module in modules:
        for fn in vars(module).values():
            operation_id = getattr(fn, "operation_id", None)
            if operation_id is not None and getattr(fn, "__module__", None) == module.__name__:
                if operation_id in handlers:
                    raise RuntimeError(f"two handlers for {operation_id}")
                handlers[operation_id] = fn
            route = getattr(fn, "sandbox_route", None)
            if route is not None and getattr(fn, "__module__", None) == module.__name__:
                if route in routes:
                    raise RuntimeError(f"two sandbox-only routes for {route[0]} {route[1]}")
                routes[route] = fn
    wiring = Wiring(
        document=document,
        clock_steps=CLOCK_STEPS,
        # A paid invoice settles the subscription that was waiting on it.
        on_invoice_paid=(subscriptions.invoice_paid, credit_packs.invoice_paid),
        # A refunded purchase takes back the credit it bought that is still unspent.
        on_refund=(credit_packs.refund_made,),
        # A subscription whose credit schedule grants `immediate`ly grants as it starts.
        on_subscription_started=(credit_packs.subscription_started,),
        # Consumption that leaves the balance below an auto-recharge threshold buys a pack.
        on_credit_consumed=(auto_recharge.after_consumption,),
    )
    return Wired(wiring=wiring, handlers=handlers, sandbox_routes=routes)


def create_app(config: SandboxConfig | None = None) -> Starlette:
    config = config or SandboxConfig()
    document = config.document
    wired = wire(document)
    handlers = wired.handlers
    missing = sorted(set(document.operations) - set(handlers))
    if missing and config.require_all_handlers:
        raise RuntimeError(f"operations without a sandbox handler: {missing}")
    store = Store(config.db, exclusive=config.workers == 1)
    store.run(lambda: seed(store, document))
    if config.webhook_worker:
        webhooks.start(store)  # deliveries a previous run left pending are made now
        after_commit = exit_after_commits(events.after_commit)  # as it is, unless a test armed the fault
    else:
        after_commit = events.check_recorded

    by_path: dict[str, dict[str, OperationDoc]] = {}
    for op in document.operations.values():
        if op.operation_id not in handlers:
            continue
        by_path.setdefault(op.path, {})[op.method] = op

    def endpoint_for(methods: dict[str, OperationDoc]) -> Any:
        async def endpoint(request: Request) -> Response:
            op = methods[request.method]
            try:
                authorize(request, config.api_key)
                built = await build_context(request, op, store, wired.wiring)
                key = request.headers.get("idempotency-key") if op.method != "GET" else None
                sent = SentRequest.of(request, await request.body())
                ctx = built

                def answer_once() -> tuple[Any, bool]:
                    nonlocal ctx
                    ctx = built.afresh()  # a retried attempt starts from the request, not the lost attempt
                    replay = idempotent_replay(store, ctx, key, sent)
                    if replay is not None:
                        return replay, True
                    answer = handlers[op.operation_id](ctx)
                    events.record(ctx)
                    if config.validate_responses:
                        check_answer(op, answer, document)
                    remember(store, ctx, key, sent, answer)
                    return answer, False

                # In a worker thread: while this request waits for the store (another request's
                # transaction, a conflict's retry), the event loop serves the worker's other requests.
                # A handler that takes its own locks runs READ COMMITTED on PostgreSQL (database.read_committed).
                locking = getattr(handlers[op.operation_id], "read_committed", False)
                answer, replayed = await run_in_threadpool(store.run, answer_once, read_committed=locking)
                if replayed:
                    return JSONResponse(answer, headers={"Idempotent-Replayed": "true"})
                after_commit(ctx)
                return JSONResponse(answer)
            except ApiError as exc:
                return JSONResponse(exc.body(), status_code=exc.status)
            except StoreBusy as exc:
                return busy(exc)
            except Exception as exc:  # a bug, never bad input: say so, and log it (rolled back already)
                return unexpected(op.operation_id, exc, show_detail=config.validate_responses)

        return endpoint

    routes = [
        Route(_starlette_path(path, by_path), endpoint_for(methods), methods=list(methods))
        for path, methods in sorted(by_path.items(), key=lambda kv: _route_order(kv[0]))
    ]
    routes += sandbox_routes.routes(wired.sandbox_routes, store, config.api_key, wired.wiring, after_commit)
    routes += hosted_pages.routes(store, wired.wiring, after_commit, hosted_pages.page_secret(config.api_key))

    async def no_route(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        what = "no such route" if status == 404 else f"{request.method} is not allowed here"
        headers = getattr(exc, "headers", None) or {}  # 405 carries Allow: the path's methods
        return JSONResponse(
            {"error": f"{what}: {request.method} {request.url.path}"}, status_code=status, headers=headers
        )

    app = Starlette(routes=routes, exception_handlers={404: no_route, 405: no_route})
    app.add_middleware(BodyLimit, max_body=config.max_body)
    app.add_middleware(AnswerUnexpected)  # outermost of ours: it sees what BodyLimit and the routes raise
    app.state.store = store
    app.state.config = config
    app.state.handlers = handlers  # the live table requests are answered from (tests swap entries)
    return app


def _starlette_path(path: str, all_paths: dict[str, Any]) -> str:
    """A trailing `{param}` that no longer route extends may contain `/` (a mount location
    such as `/my-app` arrives percent-encoded and is decoded before routing)."""
    head, _, last = path.rpartition("/")
    if last.startswith("{") and not any(other.startswith(path + "/") for other in all_paths):
        return f"{head}/{last[:-1]}:path}}"
    return path


def _route_order(path: str) -> tuple[int, ...]:
    # Literal segments before parameters at each depth: /customers/me before /customers/{id}.
    return tuple(1 if segment.startswith("{") else 0 for segment in path.split("/"))


async def build_context(request: Request, op: OperationDoc, store: Store, wiring: Wiring) -> Context:
    refuse_undeclared_query(request.query_params, op)
    declared = {p.name for p in op.parameters if p.location == "query" and not p.prefix}
    prefix = next((p.prefix for p in op.parameters if p.location == "query" and p.prefix), None)
    lists = fold_lists(request.query_params, declared, prefix)
    query: dict[str, Any] = {}
    path: dict[str, str] = {}
    for param in op.parameters:
        if param.location == "path":
            path[param.name] = request.path_params[param.name]
        elif param.location == "query":
            value = read_query(request.query_params, param, wiring.document, lists.get(param.name))
            if value is not None:
                query[param.name] = value
        elif param.location == "header":
            read_header(request, param)
    body = await read_body(request, op)
    livemode = query.pop("livemode", None)
    if livemode is None:
        livemode = body.get("livemode", True) if isinstance(body.get("livemode"), bool) else True
    return Context(
        op=op,
        store=store,
        livemode=livemode,
        wiring=wiring,
        path=path,
        query=query,
        body=body,
        base_url=str(request.base_url).rstrip("/"),
        headers={k.lower(): v for k, v in request.headers.items() if k.lower() != "authorization"},
    )


def _idempotency_slot(ctx: Context, key: str) -> str:
    return f"idempotency:{'live' if ctx.livemode else 'test'}:{key}"


@dataclass(frozen=True)
class SentRequest:
    """What an Idempotency-Key names: one request, down to its method, path, query and body. A key
    bound to less (the operation and body, say) would answer `PUT /api/products/p2` with p1's result."""

    method: str
    path: str
    fingerprint: str
    """sha256 of the method, path, query (its pairs in order of name) and body."""

    @classmethod
    def of(cls, request: Request, body: bytes) -> SentRequest:
        # The path as sent: decoded, `/api/settings/a%2Fb` and `/api/settings/a/b` would be one path.
        raw = request.scope.get("raw_path")
        path = raw.decode("latin-1") if isinstance(raw, bytes) else request.url.path
        # Sorted by name only: a client may build its query from a dict in any order, but the order
        # of one name's repeated values is part of what it asks.
        query = sorted(request.query_params.multi_items(), key=lambda pair: pair[0])
        seen = json.dumps([request.method, path, query, hashlib.sha256(body).hexdigest()])
        return cls(request.method, path, hashlib.sha256(seen.encode()).hexdigest())


def idempotent_replay(store: Store, ctx: Context, key: str | None, sent: SentRequest) -> Any:
    """The stored answer of an earlier write with this Idempotency-Key, so a retried write
    applies once; the same key on any different request is refused."""
    if not key:
        return None
    stored = ctx.read_meta_with_clock(_idempotency_slot(ctx, key))
    if stored is None:
        return None
    earlier = json.loads(stored)
    # A record without a fingerprint predates binding keys to the whole request: it can match nothing.
    if earlier.get("request") != sent.fingerprint:
        first = f" ({earlier['method']} {earlier['path']})" if "path" in earlier else ""
        raise bad_request(
            f"Idempotency-Key {key!r} was already used for a different request{first}; a key names one"
            " request: its method, path, query and body"
        )
    return earlier["answer"]


def remember(store: Store, ctx: Context, key: str | None, sent: SentRequest, answer: Any) -> None:
    # The key is the primary key of its sandbox_meta row: of two concurrent first uses, the second
    # insert fails, its request is retried (store.run), and `idempotent_replay` answers it.
    if not key or ctx.op is None:
        return
    record = {"request": sent.fingerprint, "method": sent.method, "path": sent.path, "answer": answer}
    # `idempotent_replay` found no record in this transaction: a plain insert.
    store.add_meta(_idempotency_slot(ctx, key), json.dumps(record))


def read_header(request: Request, param: Parameter) -> None:
    value = request.headers.get(param.name)
    if value is None:
        if param.required:
            raise bad_request(f"header {param.name!r} is required")
        return
    error = jsonschema.exceptions.best_match(param.validator.iter_errors(value))
    if error is not None:
        raise bad_request(f"header {param.name!r}: {error.message}")


def refuse_undeclared_query(params: Any, op: OperationDoc) -> None:
    """A query parameter the operation does not declare is a 400 naming it: a filter a client
    spelt wrongly (`run=1` for `metadata.run=1`) would otherwise answer the unfiltered list."""
    declared = {p.name for p in op.parameters if p.location == "query" and not p.prefix}
    prefixes = tuple(p.prefix for p in op.parameters if p.location == "query" and p.prefix)
    for name in params:
        base = bracket_base(name)  # `status[0]`: a list, read (or refused) by fold_lists
        if base is not None and (base in declared or (base == "metadata" and prefixes)):
            continue
        if name not in declared and not (prefixes and name.startswith(prefixes)):
            known = ", ".join(sorted(declared | {f"{prefix}<key>" for prefix in prefixes}))
            raise bad_request(f"query parameter {name!r} is not one that {op.operation_id} takes ({known})")


def read_query(params: Any, param: Parameter, document: Document, sent_list: QueryList | None = None) -> Any:
    if param.prefix:
        found = {k[len(param.prefix) :]: v for k, v in params.multi_items() if k.startswith(param.prefix)}
        return found or None
    raw = params.get(param.name) if sent_list is None else sent_list
    if raw is None:
        if param.required:
            raise bad_request(f"query parameter {param.name!r} is required")
        return None
    if sent_list is not None and param.schema.get("type", "string") != "string":
        raise bad_request(f"query parameter {param.name!r} takes one value, not a list ({param.name}[0]=...)")
    value = coerce(raw, param, document)
    errors = sorted(param.validator.iter_errors(value), key=lambda e: e.path)
    if errors:
        if raw == "":
            # qs (a Node client's axios) writes a null as `name=`: say so rather than filter by nothing.
            raise bad_request(
                f"query parameter {param.name!r} is empty ({param.name}=); leave it out for no filter "
                "(a Node client sends a null value as an empty one)"
            )
        raise bad_request(f"query parameter {param.name!r}: {errors[0].message}")
    return sent_list if sent_list is not None else value


_QUERY_NUMBERS = {"integer": re.compile(r"-?[0-9]{1,30}"), "number": re.compile(r"-?[0-9]{1,30}(\.[0-9]{1,30})?")}
"""A number in a query as JSON writes one, matched whole: int() and Decimal() would also read spaces,
underscores, `NaN`, `1e999` and other scripts' digits ("١٢")."""


def coerce(raw: str, param: Parameter, document: Document) -> Any:
    kind = param.schema.get("type")
    if kind is None and "$ref" in param.schema:
        kind = document.resolve(param.schema).get("type")
    if kind in _QUERY_NUMBERS:
        if not _QUERY_NUMBERS[kind].fullmatch(raw):
            raise bad_request(f"query parameter {param.name!r} must be a {kind}, not {raw!r}")
        return int(raw) if kind == "integer" else Decimal(raw)
    if kind == "boolean":
        if raw in ("true", "1"):
            return True
        if raw in ("false", "0"):
            return False
        raise bad_request(f"query parameter {param.name!r} must be true or false, not {raw!r}")
    return raw


async def read_body(request: Request, op: OperationDoc) -> dict[str, Any]:
    raw = await request.body()
    if op.body_validator is None:
        refuse_unread_body(raw, op)
        return {}
    if not raw.strip():
        if op.body_required:
            raise bad_request("a JSON request body is required")
        return {}
    body = strict_json.loads(raw)
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    errors = list(op.body_validator.iter_errors(body))
    missing = [e for e in errors if e.validator == "required"]
    if missing:
        # Every missing field in one answer, not one per try.
        ordered = sorted(missing, key=lambda e: [str(p) for p in e.absolute_path])
        raise bad_request("; ".join(dict.fromkeys(_missing(e) for e in ordered)))
    error = jsonschema.exceptions.best_match(errors)
    if error is not None:
        raise bad_request(describe(error))
    return body


def refuse_unread_body(raw: bytes, op: OperationDoc) -> None:
    """A GET or DELETE that takes no body, sent with one, is a 400 naming its fields: PaymentKit reads
    such an operation's parameters from the query, so a body's filters would be lost. (Node's
    `@blocklet/payment-js` sends an `(id, params)` method's params this way, e.g.
    `coupons.redemptions(id, {type})`.) An empty body or `{}` carries nothing and passes."""
    if op.method not in ("GET", "DELETE") or not raw.strip():
        return
    try:
        body = json.loads(raw)
    except ValueError:
        body = raw  # not JSON: still something sent that would be ignored
    if body == {}:
        return
    fields = f" ({', '.join(map(str, body))})" if isinstance(body, dict) else ""
    raise bad_request(
        f"{op.method} {op.path} takes no request body, but one was sent{fields}: PaymentKit reads this"
        " operation's parameters from the query string only"
    )


def _missing(error: jsonschema.ValidationError) -> str:
    """The required properties an object lacks, where it is (`line_items[1]`)."""
    absent = [name for name in error.validator_value if isinstance(error.instance, dict) and name not in error.instance]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    names = ", ".join(repr(name) for name in absent)
    verb = "is a required property" if len(absent) == 1 else "are required properties"
    return f"{names} {verb}{' in ' + where if where else ''}"


def describe(error: jsonschema.ValidationError) -> str:
    """A validation failure as a sentence naming the field."""
    where = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        return f"{error.message}{' in ' + where if where else ''}"
    if error.validator == "additionalProperties":
        return f"{error.message}{' in ' + where if where else ''}"
    return f"{where or 'body'}: {error.message}"


def check_answer(op: OperationDoc, answer: Any, document: Document | None = None) -> None:
    """In tests: an answer that does not match the document is a sandbox bug, and so is a field
    the document does not declare (checked against a closed copy of the schemas, when given the
    document): a client generated from the document would not know it."""
    error = jsonschema.exceptions.best_match(op.answer_validator.iter_errors(answer))
    if error is None and document is not None:
        closed = _closed_validators.get(op.operation_id)
        if closed is None:
            closed = document.closed_validator({"$ref": f"#/components/schemas/{op.answer_schema}"})
            _closed_validators[op.operation_id] = closed
        error = jsonschema.exceptions.best_match(closed.iter_errors(answer))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path)
        raise AssertionError(f"{op.operation_id} answered off-schema at {where or '<root>'}: {error.message}")


_closed_validators: dict[str, jsonschema.protocols.Validator] = {}
