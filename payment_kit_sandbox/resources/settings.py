"""Settings (`/api/settings`): configuration records of component mount locations.

Creates take camelCase keys (`mountLocation`, `componentDid`) and answer
snake_case, as PaymentKit does. A create for a (type, mount location) that
already has a record answers that record unchanged: PaymentKit's web client
relies on it as get-or-create. Reads, updates and deletes take the id or the
mount location.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any

import jsonschema

from ..context import Context, handles
from ..document import Document
from ..refusals import bad_request, not_found

KIND = "setting"
# The document's shape for each type PaymentKit knows; other types are free-form.
SHAPES = {"notification": "SettingNotificationConfig", "donate": "SettingDonateConfig"}


@functools.cache
def _validator(document: Document, schema_name: str) -> jsonschema.Draft7Validator:
    return document.validator({"$ref": f"#/components/schemas/{schema_name}"})


def _checked(ctx: Context, kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    """`settings` if it has the shape of its type, else a 400 naming the field."""
    shape = SHAPES.get(kind)
    if shape is not None:
        error = jsonschema.exceptions.best_match(_validator(ctx.document, shape).iter_errors(settings))
        if error is not None:
            where = ".".join(["settings", *(str(p) for p in error.absolute_path)])
            raise bad_request(f"{where}: {error.message} (for a {kind!r} setting)")
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


def find(ctx: Context, key: str) -> dict[str, Any]:
    """A setting by id, or by mount location (the oldest when types share one); else 404."""
    setting = ctx.store.get(KIND, key, ctx.livemode) or ctx.store.first(KIND, ctx.livemode, mount_location=key)
    if setting is None:
        raise not_found("Setting", key)
    return setting


@handles("createSetting")
def create(ctx: Context) -> dict[str, Any]:
    body = ctx.body
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
    return ctx.store.insert(KIND, setting)


@handles("retrieveSetting")
def retrieve(ctx: Context) -> dict[str, Any]:
    return find(ctx, ctx.path["id"])


@handles("updateSetting")
def update(ctx: Context) -> dict[str, Any]:
    setting = find(ctx, ctx.path["id"])
    body = ctx.body
    if "settings" in body:
        # The keys given replace theirs; the others stay.
        setting["settings"] = _checked(ctx, setting["type"], {**(setting.get("settings") or {}), **body["settings"]})
    for field in ("active", "description"):
        if field in body:
            setting[field] = body[field]
    return ctx.store.save(KIND, ctx.touch(setting))


@handles("deleteSetting")
def delete(ctx: Context) -> dict[str, Any]:
    setting = find(ctx, ctx.path["id"])
    ctx.store.delete(KIND, setting["id"])
    return {"message": f"Setting {setting['id']} ({setting['type']} of {setting['mount_location']}) deleted"}
