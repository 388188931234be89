"""Settings: configuration records of component mount locations, one per
(type, mount location). Settings keys have the document's types (`SettingValues`), the
types PaymentKit knows have the keys they need;
a donation setting's presets also lie within its minimum and maximum."""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any

import jsonschema

from ..context import Context
from ..document import Document
from ..refusals import bad_request
from . import lifecycle

__all__ = ["delete_setting", "new_setting", "update_setting"]

KIND = "setting"


@functools.cache
def _required_by_type(document: Document) -> dict[str, list[str]]:
    """The keys a setting of each type PaymentKit knows must have (`SettingValues`'
    `x-required-by-type`); the document's schema has already checked every key's type."""
    return dict(document.schema("SettingValues").get("x-required-by-type") or {})


@functools.cache
def _validator(document: Document) -> jsonschema.Draft7Validator:
    return document.validator({"$ref": "#/components/schemas/SettingValues"})


def _checked(ctx: Context, kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    """`settings` if its keys have the document's types and it has the keys its type needs,
    else a 400 naming the field (an update's keys are checked merged with the stored ones)."""
    error = jsonschema.exceptions.best_match(_validator(ctx.document).iter_errors(settings))
    if error is not None:
        where = ".".join(["settings", *(str(p) for p in error.absolute_path)])
        raise bad_request(f"{where}: {error.message} (for a {kind!r} setting)")
    for key in _required_by_type(ctx.document).get(kind, []):
        if key not in settings:
            raise bad_request(f"settings: {key!r} is a required property (for a {kind!r} setting)")
    if kind == "donate":
        _check_donation_amounts(settings.get("amount") or {})
    return settings


def _check_donation_amounts(amount: dict[str, Any]) -> None:
    low, high = amount.get("minimum"), amount.get("maximum")
    if low is not None and high is not None and Decimal(low) > Decimal(high):
        raise bad_request(f"settings.amount: minimum {low} is above maximum {high}")
    for value in [*(amount.get("presets") or []), *([amount["preset"]] if amount.get("preset") else [])]:
        if (low is not None and Decimal(value) < Decimal(low)) or (high is not None and Decimal(value) > Decimal(high)):
            raise bad_request(f"settings.amount: preset {value} is outside minimum {low} and maximum {high}")


def new_setting(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """Get-or-create: a (type, mount location) with a record answers it unchanged, as PaymentKit's client expects."""
    existing = ctx.store.first(KIND, ctx.livemode, type=body["type"], mount_location=body["mountLocation"])
    if existing is not None:
        return existing
    setting = ctx.stamp(
        {
            "type": body["type"],
            "mount_location": body["mountLocation"],
            "active": body.get("active", True),
            "component_did": body.get("componentDid"),
            "description": body["description"],
            "settings": _checked(ctx, body["type"], body.get("settings") or {}),
        },
        "setting",
    )
    return lifecycle.added(ctx, KIND, setting)


def update_setting(ctx: Context, setting: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The settings keys given replace theirs and the others stay; the merged whole keeps its type's shape."""
    if "settings" in body:
        setting["settings"] = _checked(ctx, setting["type"], {**(setting.get("settings") or {}), **body["settings"]})
    for field in ("active", "description"):
        if field in body:
            setting[field] = body[field]
    return lifecycle.changed(ctx, KIND, setting)


def delete_setting(ctx: Context, setting: dict[str, Any]) -> dict[str, Any]:
    """A setting is simply removed: nothing refers to it."""
    return lifecycle.removed(ctx, KIND, setting)
