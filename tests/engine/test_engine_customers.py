"""Customers: a DID becomes a customer once, is found by id or DID, and an unknown one is refused."""

from __future__ import annotations

from typing import Any

from payment_kit_sandbox.context import Context
from payment_kit_sandbox.engine import customers

from .conftest import emitted, refused


def test_plain_did_drops_only_the_abt_prefix() -> None:
    assert customers.plain_did("did:abt:zAbc") == "zAbc"
    assert customers.plain_did("zAbc") == "zAbc"
    assert customers.plain_did("did:eth:0x1") == "did:eth:0x1"


def test_a_did_becomes_a_customer_once_with_its_contact_and_invoice_prefix(ctx: Context) -> None:
    made = customers.ensure_customer(ctx, "did:abt:zNewPayer42", name="Ada", email="ada@example.com")
    assert (made["did"], made["name"], made["email"], made["phone"]) == ("zNewPayer42", "Ada", "ada@example.com", "")
    assert (made["invoice_prefix"], made["next_invoice_sequence"], made["balance"]) == ("WPAYER42", 1, "0")
    assert made["id"].startswith("cus_") and made["livemode"] is False
    assert emitted(ctx) == ["customer.created"]
    # The same DID, with or without its prefix, is the same customer: no second record, no second event.
    again = customers.ensure_customer(ctx, "zNewPayer42", name="Someone else")
    assert again["id"] == made["id"] and again["name"] == "Ada"
    assert emitted(ctx) == ["customer.created"]
    assert len(ctx.store.find("customer", False, did="zNewPayer42")) == 1


def test_customers_are_found_by_id_or_by_did_in_their_own_mode(ctx: Context, buyer: dict[str, Any]) -> None:
    assert customers.find_customer(ctx, buyer["id"])["id"] == buyer["id"]
    assert customers.find_customer(ctx, "did:abt:zBuyer0001")["id"] == buyer["id"]
    assert customers.find_customer(ctx, "zBuyer0001")["id"] == buyer["id"]
    assert customers.find_customer(ctx, "zNobody") is None
    live = Context(op=None, store=ctx.store, livemode=True, wiring=ctx.wiring)
    assert customers.find_customer(live, buyer["id"]) is None


def test_a_write_naming_an_unknown_customer_is_refused_naming_the_field(ctx: Context, buyer: dict[str, Any]) -> None:
    assert customers.referenced_customer(ctx, "did:abt:zBuyer0001")["id"] == buyer["id"]
    with refused(400, "customer_id: no customer 'cus_missing' in this mode"):
        customers.referenced_customer(ctx, "cus_missing")
    with refused(400, "payer: no customer 'zGhost'"):
        customers.referenced_customer(ctx, "zGhost", "payer")
