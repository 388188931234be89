"""What a handler gets for one request: validated inputs, the mode, the
store, and the sandbox's clock."""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .document import OperationDoc
from .errors import not_found
from .store import Store

__all__ = ["HANDLERS", "Context", "handles", "iso", "new_id"]

_ALPHABET = string.ascii_letters + string.digits

Handler = Callable[["Context"], Any]
HANDLERS: dict[str, Handler] = {}


def handles(operation_id: str) -> Callable[[Handler], Handler]:
    """Register the function answering one operationId of the document."""

    def register(fn: Handler) -> Handler:
        if operation_id in HANDLERS:
            raise RuntimeError(f"two handlers for {operation_id}")
        HANDLERS[operation_id] = fn
        return fn

    return register


def new_id(prefix: str) -> str:
    """An id in PaymentKit's style: `<prefix>_` and 24 random base62 characters."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


def iso(unix: float) -> str:
    """ISO-8601 with milliseconds and `Z`, as PaymentKit serialises `created_at`."""
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(unix * 1000) % 1000:03d}Z"


@dataclass
class Context:
    op: OperationDoc | None  # None for the sandbox-only helper routes
    store: Store
    livemode: bool
    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    base_url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)

    # -- time --------------------------------------------------------------------------------

    def now(self) -> int:
        """Unix seconds on the sandbox clock (real time plus the test clock's advance)."""
        return int(time.time()) + int(self.store.get_meta("clock_offset") or 0)

    def now_iso(self) -> str:
        return iso(time.time() + int(self.store.get_meta("clock_offset") or 0))

    # -- objects -----------------------------------------------------------------------------

    def get(self, kind: str, object_id: str, label: str | None = None) -> dict[str, Any]:
        """An object of this mode by id, or a 404 naming it."""
        obj = self.store.get(kind, object_id, self.livemode)
        if obj is None:
            raise not_found(label or kind.replace("_", " ").capitalize(), object_id)
        return obj

    def stamp(self, obj: dict[str, Any], prefix: str) -> dict[str, Any]:
        """Give a new object its id, mode and timestamps."""
        now = self.now_iso()
        return {**obj, "id": new_id(prefix), "livemode": self.livemode, "created_at": now, "updated_at": now}

    def touch(self, obj: dict[str, Any]) -> dict[str, Any]:
        obj["updated_at"] = self.now_iso()
        return obj

    def emit(self, event_type: str, kind: str, obj: dict[str, Any]) -> None:
        """Record an event for webhook delivery once the request commits."""
        self.events.append({"type": event_type, "object_type": kind, "object": obj})

    def param(self, name: str, default: Any = None) -> Any:
        return self.query.get(name, default)
