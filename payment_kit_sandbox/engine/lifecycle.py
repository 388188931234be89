"""The steps every change to a stored object takes, in one place: a new object is
stored and announced, a changed one takes the time of the change before it is
saved and announced, a removed one is announced as it was; an archived one
stays, inactive."""

from __future__ import annotations

from typing import Any

from ..context import Context
from ..refusals import bad_request

__all__ = ["added", "archived", "changed", "removed"]


def added(ctx: Context, kind: str, obj: dict[str, Any], event: str | None = None) -> dict[str, Any]:
    """A new object is stored, then announced by `event` if it has one."""
    ctx.store.insert(kind, obj)
    if event:
        ctx.emit(event, kind, obj)
    return obj


def changed(ctx: Context, kind: str, obj: dict[str, Any], event: str | None = None) -> dict[str, Any]:
    """A changed object carries the time of its change, is saved, then announced by `event` if it has one."""
    ctx.store.save(kind, ctx.touch(obj))
    if event:
        ctx.emit(event, kind, obj)
    return obj


def removed(ctx: Context, kind: str, obj: dict[str, Any], event: str | None = None) -> dict[str, Any]:
    """A removed object is deleted, then announced by `event` as it last stood."""
    ctx.store.delete(kind, obj["id"])
    if event:
        ctx.emit(event, kind, obj)
    return obj


def archived(
    ctx: Context, kind: str, obj: dict[str, Any], label: str, event: str | None = None, *, note: str = ""
) -> dict[str, Any]:
    """An archived object stays, inactive; archiving it twice is a 400 naming it (`label`, then `note`)."""
    if not obj["active"]:
        raise bad_request(f"{label} {obj['id']} is already archived{note}")
    obj["active"] = False
    return changed(ctx, kind, obj, event)
