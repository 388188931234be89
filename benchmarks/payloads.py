"""The answers the benchmarks decode and the stub serves.

PaymentKit's answers are built from the OpenAPI document by the tests'
example builder (`tests/schema_examples.py`: every property filled, down to
a nesting depth, with PaymentKit-shaped values), so they follow the document
as it changes. The Stripe customer carries the fields of Stripe's published
Customer object, so each SDK decodes its own API's shape.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

from stub_server import ID_MARK

ROOT = Path(__file__).resolve().parent.parent


@cache
def _examples() -> Any:
    sys.path.insert(0, str(ROOT / "tests"))
    import schema_examples

    return schema_examples


def example(schema: str) -> dict[str, Any]:
    instance: dict[str, Any] = _examples().example_of(schema)
    return instance


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def customer() -> dict[str, Any]:
    """`retrieveCustomer`'s answer for a customer with no payments, subscriptions or invoices yet."""
    return {**example("CustomerExpanded"), "payments": [], "subscriptions": [], "invoices": []}


def page(schema: str, rows: int) -> bytes:
    """`{count, list}` of `rows` fully expanded objects, each with its own id."""
    item = example(schema)
    prefix = str(item["id"]).split("_", 1)[0]
    return dumps({"count": rows, "list": [{**item, "id": f"{prefix}_{n:024d}"} for n in range(rows)]})


def page_row(row: dict[str, Any]) -> bytes:
    """One row of a stub-served page; the stub writes each row's id over the mark."""
    return dumps({**row, "id": ID_MARK.decode()})


def meter_event() -> dict[str, Any]:
    return example("MeterEventExpanded")


def meter_event_body(n: int) -> dict[str, Any]:
    return {"event_name": "api_calls", "payload": {"customer_id": "cus_bench", "value": "1"}, "identifier": f"e{n}"}


def stripe_customer() -> dict[str, Any]:
    return {
        "id": "cus_NffrFeUfNV2Hib",
        "object": "customer",
        "address": {
            "city": "Berlin",
            "country": "DE",
            "line1": "Unter den Linden 1",
            "line2": None,
            "postal_code": "10117",
            "state": None,
        },
        "balance": 0,
        "created": 1680893993,
        "currency": "eur",
        "default_source": None,
        "delinquent": False,
        "description": "Bench customer",
        "discount": None,
        "email": "ada@example.com",
        "invoice_prefix": "0759376C",
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {"plan": "pro"},
        "name": "Ada Lovelace",
        "next_invoice_sequence": 1,
        "phone": "+4930123456",
        "preferred_locales": ["de"],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }
