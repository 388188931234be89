"""Realistic example instances of the document's schemas.

Every property is filled, optional ones included (down to a nesting depth),
with values shaped like PaymentKit's: ids with their resource prefix, money
as integer-unit strings in answers and decimal strings in requests, Unix
seconds, ISO-8601 `created_at`. Examples written in the document win over
invented values, so the instance is as close to a real answer as the
document allows.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi" / "payment-kit.yaml"
MAX_OPTIONAL_DEPTH = 3

ID_PREFIXES = {
    "customer": "cus",
    "product": "prod",
    "price": "price",
    "upsell_price": "price",
    "default_price": "price",
    "base_price": "price",
    "currency": "pc",
    "recharge_currency": "pc",
    "payment_currency": "pc",
    "payment_method": "pm",
    "default_payment_method": "pm",
    "subscription": "sub",
    "subscription_item": "si",
    "invoice": "in",
    "payment_intent": "pi",
    "payment_link": "plink",
    "checkout_session": "cs",
    "coupon": "co",
    "promotion_code": "promo",
    "meter": "meter",
    "meter_event": "mevt",
    "credit_grant": "cg",
    "refund": "re",
    "webhook_endpoint": "we",
    "event": "evt",
    "setting": "setting",
}
SCHEMA_ID_PREFIXES = {
    "AutoRechargeConfig": "arc",
    "CheckoutSession": "cs",
    "Coupon": "co",
    "CreditGrant": "cg",
    "CreditTransaction": "ctxn",
    "Customer": "cus",
    "Event": "evt",
    "Invoice": "in",
    "InvoiceItem": "ii",
    "Meter": "meter",
    "MeterEvent": "mevt",
    "PaymentCurrency": "pc",
    "PaymentIntent": "pi",
    "PaymentLink": "plink",
    "PaymentMethod": "pm",
    "Price": "price",
    "Product": "prod",
    "PromotionCode": "promo",
    "Refund": "re",
    "Setting": "setting",
    "Subscription": "sub",
    "SubscriptionItem": "si",
    "UsageRecord": "ur",
    "WebhookAttempt": "wha",
    "WebhookEndpoint": "we",
}


@cache
def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text())


def schema(name: str) -> dict[str, Any]:
    return dict(spec()["components"]["schemas"][name])


def ref_name(node: dict[str, Any]) -> str | None:
    ref = node.get("$ref")
    return ref.rsplit("/", 1)[1] if isinstance(ref, str) else None


def id_for(owner: str) -> str:
    prefix = next((p for name, p in SCHEMA_ID_PREFIXES.items() if owner.startswith(name)), "obj")
    return f"{prefix}_3hK9xQ2mV7pL4tR8wN1cB6dF"


def string_for(prop: str, node: dict[str, Any], owner: str) -> str:
    if node.get("format") == "date-time":
        return "2024-10-18T09:30:00.000Z"
    if prop == "id":
        return id_for(owner)
    if prop.endswith("_id") and prop[:-3] in ID_PREFIXES:
        return f"{ID_PREFIXES[prop[:-3]]}_7Gd2kPq9Lx4Mn8Rt1Vb6Ws3Y"
    if prop.endswith("_url") or prop in ("url", "link", "logo"):
        return "https://example.com/payment/done"
    if "email" in prop:
        return "ada@example.com"
    if prop in ("did", "customer_did"):
        return "z1muQ3xqHQK2uiACHyChikwqcF3C7JyLJsq"
    return f"{prop or 'value'} text"


def synthesize(node: dict[str, Any], owner: str = "", prop: str = "", depth: int = 0) -> Any:
    """A value valid for `node`, as PaymentKit would send it."""
    name = ref_name(node)
    if name is not None:
        return synthesize(schema(name), name if name[0].isupper() else owner, prop, depth)
    if "example" in node and node.get("type") not in ("object", "array") and "properties" not in node:
        return copy.deepcopy(node["example"])
    if "enum" in node:
        return next(v for v in node["enum"] if v is not None)
    if "allOf" in node:
        parts = [synthesize(part, owner, prop, depth) for part in node["allOf"]]
        if all(isinstance(p, dict) for p in parts):
            merged: dict[str, Any] = {}
            for part in parts:
                merged.update(part)
            return merged
        return parts[-1]
    for key in ("oneOf", "anyOf"):
        if key in node:
            return synthesize(node[key][0], owner, prop, depth)
    kind = node.get("type", "object")
    if kind == "string":
        if node.get("pattern") == "^-?[0-9]+$":
            return "1000000"
        if node.get("pattern", "").startswith("^[0-9]+(\\.[0-9]+)?"):
            return "10.5"
        return string_for(prop, node, owner)
    if kind == "integer":
        low = node.get("minimum", 1)
        return max(low, min(node.get("maximum", 1729243800 if "time" in prop else 3), 1729243800))
    if kind == "number":
        return max(node.get("minimum", 0), 1.5)
    if kind == "boolean":
        return True
    if kind == "array":
        if depth >= MAX_OPTIONAL_DEPTH + 1:
            return []
        return [synthesize(node.get("items", {"type": "string"}), owner, prop, depth + 1)]
    out: dict[str, Any] = {}
    required = set(node.get("required", []))
    for key, sub in (node.get("properties") or {}).items():
        if key in required or depth < MAX_OPTIONAL_DEPTH:
            out[key] = synthesize(sub, owner, key, depth + 1)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and not node.get("properties") and depth < MAX_OPTIONAL_DEPTH + 1:
        key = "pc_7Gd2kPq9Lx4Mn8Rt1Vb6Ws3Y" if "currency" in (node.get("description") or "").lower() else "plan"
        out[key] = synthesize(extra, owner, key, depth + 1)
    return out


def example_of(name: str) -> Any:
    """A realistic instance of components/schemas/<name>."""
    return synthesize({"$ref": f"#/components/schemas/{name}"})


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def normalized(value: Any) -> Any:
    """`value` with ISO-8601 strings as datetimes: `...000Z` and `+00:00` are the same instant."""
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    if isinstance(value, str) and _ISO.match(value):
        return datetime.fromisoformat(value)
    return value
