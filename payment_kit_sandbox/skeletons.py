"""Objects shaped as the document says: every field an answer must carry,
with neutral values, for handlers to fill in what matters."""

from __future__ import annotations

import copy
import functools
from typing import Any

from .document import Document

__all__ = ["skeleton"]


@functools.cache
def _skeleton(document: Document, name: str) -> dict[str, Any]:
    # Cached per document object: a sandbox serving another document gets that document's shapes.
    out: dict[str, Any] = {}
    for prop, node in _properties(document, document.schema(name)).items():
        out[prop] = _neutral(document, node)
    return out


def skeleton(document: Document, name: str) -> dict[str, Any]:
    """Every property of components/schemas/<name>, with neutral values (a fresh copy)."""
    return copy.deepcopy(_skeleton(document, name))


def _properties(document: Document, node: dict[str, Any]) -> dict[str, Any]:
    node = document.resolve(node)
    props: dict[str, Any] = {}
    for part in node.get("allOf", []):
        props.update(_properties(document, part))
    props.update(node.get("properties") or {})
    return props


def _neutral(document: Document, node: dict[str, Any]) -> Any:
    if node.get("nullable"):
        return None
    target = document.resolve(node)
    if "allOf" in target and len(target["allOf"]) == 1:
        target = document.resolve(target["allOf"][0])
    if "enum" in target:
        return target["enum"][0]
    kind = target.get("type")
    if kind == "string":
        if target.get("format") == "date-time":
            return "1970-01-01T00:00:00.000Z"  # a valid timestamp that says "unknown"
        return "0" if target.get("pattern", "").startswith("^-?[0-9]") else ""
    if kind in ("integer", "number"):
        return 0
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    return {}
