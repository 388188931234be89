"""Answers as JSON: `json.dumps(answer, default=payment_kit.json_default)`.

Models are not dicts (they decode fields lazily and read by attribute and by key), so `json.dumps`
needs to be told how to write them; this `default=` does, for models and pages at any depth,
`Decimal`s (as their exact decimal strings, as PaymentKit takes money) and enums (their values).
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any

from payment_kit_client.model_runtime import Model

from ._pagination import AsyncPage, Page

__all__ = ["json_default"]


def json_default(value: Any) -> Any:
    """The JSON form of what `json.dumps` cannot write itself: a model's `to_dict()` (exactly what the
    server sent), a page's `{count, list}`, a `Decimal`'s exact string, an enum's value.

    Raises:
        TypeError: for anything else, as `json.dumps` does.
    """
    if isinstance(value, Model | Page | AsyncPage):
        return value.to_dict()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
