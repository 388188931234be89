"""Settings (`/api/settings`): configuration records of component mount locations.

Creates take camelCase keys (`mountLocation`, `componentDid`) and answer
snake_case, as PaymentKit does. A create for a (type, mount location) that
already has a record answers that record unchanged: PaymentKit's web client
relies on it as get-or-create. Reads, updates and deletes take the id or the
mount location.
"""

from __future__ import annotations

from typing import Any

from ..context import Context, handles
from ..engine import settings
from ..refusals import not_found

KIND = "setting"


def find(ctx: Context, key: str) -> dict[str, Any]:
    """A setting by id, or by mount location (the oldest when types share one); else 404."""
    setting = ctx.store.get(KIND, key, ctx.livemode) or ctx.store.first(KIND, ctx.livemode, mount_location=key)
    if setting is None:
        raise not_found("Setting", key)
    return setting


@handles("createSetting")
def create(ctx: Context) -> dict[str, Any]:
    return settings.new_setting(ctx, ctx.body)


@handles("retrieveSetting")
def retrieve(ctx: Context) -> dict[str, Any]:
    return find(ctx, ctx.path["id"])


@handles("updateSetting")
def update(ctx: Context) -> dict[str, Any]:
    return settings.update_setting(ctx, find(ctx, ctx.path["id"]), ctx.body)


@handles("deleteSetting")
def delete(ctx: Context) -> dict[str, Any]:
    setting = settings.delete_setting(ctx, find(ctx, ctx.path["id"]))
    return {"message": f"Setting {setting['id']} ({setting['type']} of {setting['mount_location']}) deleted"}
