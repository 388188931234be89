"""The billing rules on a fresh in-memory store, with no HTTP: a request
context wired as `create_app` wires it, inside one open transaction."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from payment_kit_sandbox.app import wire
from payment_kit_sandbox.context import Context
from payment_kit_sandbox.database import Store
from payment_kit_sandbox.document import load_document
from payment_kit_sandbox.engine import catalog
from payment_kit_sandbox.lookups import base_currency, ensure_customer
from payment_kit_sandbox.seed import seed


@pytest.fixture(scope="session")
def wired() -> Any:
    return wire(load_document())


@pytest.fixture
def ctx(wired: Any) -> Iterator[Context]:
    store = Store()
    with store.transaction():
        seed(store, wired.wiring.document)
        yield Context(op=None, store=store, livemode=False, wiring=wired.wiring)
    store.close()


@pytest.fixture
def buyer(ctx: Context) -> dict[str, Any]:
    return ensure_customer(ctx, "did:abt:zBuyer0001")


@pytest.fixture
def currency(ctx: Context) -> dict[str, Any]:
    """The seeded test currency: 18 decimals."""
    return base_currency(ctx)


def make_price(ctx: Context, **body: Any) -> dict[str, Any]:
    product = ctx.stamp({"name": "p", "type": "service", "default_price_id": None}, "prod")
    ctx.store.insert("product", product)
    return catalog.new_price(ctx, product, body)
