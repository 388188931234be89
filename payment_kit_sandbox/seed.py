"""What a fresh sandbox database holds: in test and in live mode, one
payment method (an ArcBlock chain) with its base currency, so that a product
with a price can be created straight away, as on a new PaymentKit."""

from __future__ import annotations

import time

from .context import iso, new_id
from .database import Store
from .document import Document
from .skeletons import skeleton

__all__ = ["seed"]

SEEDED = "seeded"


def seed(store: Store, document: Document) -> None:
    if store.get_meta(SEEDED):
        return
    now = iso(time.time())
    for livemode in (False, True):
        method_id = new_id("pm")
        currency_id = new_id("pc")
        chain = "main" if livemode else "beta"
        method = {
            **skeleton(document, "PaymentMethod"),
            "id": method_id,
            "active": True,
            "livemode": livemode,
            "locked": False,
            "type": "arcblock",
            "name": "ArcBlock" if livemode else "ArcBlock (test)",
            "description": "Pay with ArcBlock tokens",
            "logo": "https://example.com/arcblock.png",
            "default_currency_id": currency_id,
            "confirmation": {"type": "immediate", "block": None},
            "settings": {
                "arcblock": {
                    "chain_id": chain,
                    "api_host": f"https://{chain}.abtnetwork.io/api/",
                    "explorer_host": f"https://{chain}.abtnetwork.io/explorer/",
                }
            },
            "features": {"recurring": True, "refund": True, "dispute": False},
            "metadata": {},
            "created_at": now,
            "updated_at": now,
        }
        currency = {
            **skeleton(document, "PaymentCurrency"),
            "id": currency_id,
            "payment_method_id": method_id,
            "active": True,
            "livemode": livemode,
            "locked": False,
            "is_base_currency": True,
            "name": "ABT" if livemode else "Test ABT",
            "description": "ArcBlock's token",
            "logo": "https://example.com/abt.png",
            "symbol": "ABT" if livemode else "TBA",
            "decimal": 18,
            "maximum_precision": 6,
            "minimum_payment_amount": "0",
            "maximum_payment_amount": "100000000000000000000000000",
            "contract": None,
            "metadata": {},
            "type": "standard",
            "created_at": now,
            "updated_at": now,
        }
        store.insert("payment_method", method)
        store.insert("payment_currency", currency)
    store.set_meta(SEEDED, now)
