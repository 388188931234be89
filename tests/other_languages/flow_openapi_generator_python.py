"""The flow, with openapi-generator's `python` client (package `openapi_client`, default options).
Run by tests/other_languages/run.py with PK_BASE_URL, PK_API_KEY and PK_TAG set."""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

import openapi_client as pk  # type: ignore[import-not-found]
from openapi_client.exceptions import ApiException  # type: ignore[import-not-found]

BASE, KEY, TAG = os.environ["PK_BASE_URL"], os.environ["PK_API_KEY"], os.environ["PK_TAG"]
AFTER_2038 = 4102444800  # 2100-01-01: past a signed 32-bit Unix time
CUSTOM = {"foo": "bar", "n": 2, "nested": {"list": [1, "two"], "on": True}}


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"FAILED: {what}")
    print(f"ok: {what}")


def sandbox_post(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A sandbox-only route (outside the PaymentKit document, so outside the generated client)."""
    request = urllib.request.Request(
        BASE + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return dict(json.load(answer))


client = pk.ApiClient(pk.Configuration(host=BASE, access_token=KEY))
products, prices = pk.ProductsApi(client), pk.PricesApi(client)

product = products.create_product(pk.ProductCreateParams.from_dict({"name": f"Pro {TAG}", "type": "service"}))
price = prices.create_price(
    pk.PriceCreateParams.from_dict(
        {
            "product_id": product.id,
            "type": "recurring",
            "unit_amount": "0.001",
            "recurring": {"interval": "month", "interval_count": 1},
        }
    )
)
check(price.product_id == product.id and price.to_dict()["recurring"]["interval"] == "month", "a recurring price")

session = pk.CheckoutSessionsApi(client).create_checkout_session(
    pk.CheckoutSessionCreateParams.from_dict(
        {"success_url": "https://example.com/ok", "line_items": [{"price_id": price.id, "quantity": 1}]}
    )
)
completed = sandbox_post(f"/sandbox/checkout-sessions/{session.id}/complete", {"customer_did": f"z{TAG}"})
customer_id = completed["customer_id"]
check(completed["status"] == "complete" and bool(customer_id), "checkout session completed")

subs = pk.SubscriptionsApi(client).list_subscriptions(customer_id=customer_id)
sub = subs.list[0]
check(subs.count == 1 and sub.to_dict()["status"] in ("active", "trialing"), f"subscription {sub.to_dict()['status']}")
check([item.price_id for item in sub.items] == [price.id], "the subscription's items")

meter = pk.MetersApi(client).create_meter(
    pk.MeterCreateParams.from_dict({"name": "API calls", "event_name": f"calls_{TAG}", "unit": "call"})
)
source = [
    {"key": "model", "label": "Model", "value": "m-1"},
    {"key": "r", "label": {"zh": "区", "en": "Region"}, "value": "eu"},
]
event = pk.MeterEventsApi(client).create_meter_event(
    pk.MeterEventCreateParams.from_dict(
        {
            "event_name": meter.event_name,
            "payload": {"customer_id": customer_id, "value": "1"},
            "identifier": f"{TAG}-1",
            "source_data": source,
        }
    )
)
read = pk.MeterEventsApi(client).retrieve_meter_event(event.id)
fields = [field.to_dict() for field in read.source_data.actual_instance]  # anyOf: the member that matched
check(fields == source, "a meter event, its source data read back (string and localized labels)")

grants = pk.CreditGrantsApi(client)
grants.create_credit_grant(
    pk.CreditGrantCreateParams.from_dict(
        {
            "amount": "100",
            "currency_id": meter.currency_id,
            "customer_id": customer_id,
            "category": "promotional",
            "expires_at": AFTER_2038,
        }
    )
)
listed = grants.list_credit_grants(customer_id=customer_id)
check([g.expires_at for g in listed.list] == [AFTER_2038], "a credit grant expiring in 2100, listed")

for tagged in (TAG, TAG, "other"):
    products.create_product(
        pk.ProductCreateParams.from_dict({"name": f"Tagged {tagged}", "type": "service", "metadata": {"run": tagged}})
    )
only = products.list_products(metadata={"metadata.run": TAG})
check(only.count == 2 and all(p.metadata["run"] == TAG for p in only.list), "a list filtered by metadata")

first = products.list_products(metadata={"metadata.run": TAG}, page=1, page_size=1)
second = products.list_products(metadata={"metadata.run": TAG}, page=2, page_size=1)
check(first.count == 2 and first.list[0].id != second.list[0].id, "page by page and pageSize")
after = products.list_products(metadata={"metadata.run": TAG}, limit=1, starting_after=first.list[0].id)
check([p.id for p in after.list] == [second.list[0].id], "page by cursor (limit, starting_after)")

try:
    products.retrieve_product(f"prod_missing_{TAG}")
    check(False, "a 404")
except ApiException as exc:
    check(exc.status == 404, "a 404 read as an error")

settings = pk.SettingsApi(client)
setting = settings.create_setting(
    pk.SettingCreateParams.from_dict(
        {"type": f"custom_{TAG}", "mountLocation": f"/app-{TAG}", "description": "flow", "settings": CUSTOM}
    )
)
again = settings.retrieve_setting(setting.id)
check(
    again.settings.to_dict() == CUSTOM and again.to_dict()["settings"] == CUSTOM, "a custom setting read back unchanged"
)
