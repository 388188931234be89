"""The steps every change to a stored object takes, in one place: a new object is
stored and announced, a changed one takes the time of the change before it is
saved and announced, a removed one is announced as it was."""

from __future__ import annotations

from typing import Any

from ..context import Context

__all__ = ["added", "changed", "removed"]


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
