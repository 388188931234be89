"""Invoices, tiered amounts and the invoice-paid hook, read straight off the engine."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from payment_kit_sandbox.context import Context
from payment_kit_sandbox.engine import billing
from payment_kit_sandbox.refusals import ApiError

from .conftest import an_invoice, make_price


def test_per_unit_and_tiered_amounts_in_units() -> None:
    per_unit = {"unit_amount": "250", "currency_id": "pc_x"}
    assert billing.price_amount(per_unit, "pc_x", 3) == 750
    tiers = [
        {"up_to": 10, "unit_amount": "100", "flat_amount": None},
        {"up_to": None, "unit_amount": "80", "flat_amount": "5"},
    ]
    graduated = {**per_unit, "billing_scheme": "tiered", "tiers_mode": "graduated", "tiers": tiers}
    # 10 at 100, then 5 at 80 plus the second tier's flat 5.
    assert billing.price_amount(graduated, "pc_x", 15) == 10 * 100 + 5 * 80 + 5
    volume = {**graduated, "tiers_mode": "volume"}
    assert billing.price_amount(volume, "pc_x", 15) == 15 * 80 + 5
    assert billing.price_amount(volume, "pc_x", 10) == 10 * 100


def test_invoices_number_per_customer_and_apply_the_discount(
    ctx: Context, buyer: dict[str, Any], currency: dict[str, Any]
) -> None:
    price = make_price(ctx, unit_amount="0.000000000000000300")
    assert price["unit_amount"] == "300"
    first = billing.create_invoice(
        ctx,
        customer=buyer,
        currency_id=currency["id"],
        lines=[{"price": price, "quantity": 2}],
        billing_reason="manual",
    )
    second = billing.create_invoice(
        ctx,
        customer=buyer,
        currency_id=currency["id"],
        lines=[{"price": price, "quantity": 1}],
        billing_reason="manual",
        discount=1000,
    )
    prefix = "ZBUYER0001"[-8:]
    assert (first["number"], second["number"]) == (f"{prefix}-0001", f"{prefix}-0002")
    assert (first["subtotal"], first["total"], first["amount_due"]) == ("600", "600", "600")
    # A discount larger than the subtotal takes the invoice to 0, never below.
    assert (second["subtotal"], second["total"]) == ("300", "0")
    assert second["total_discount_amounts"] == [{"amount": "300", "discount": None}]
    assert ctx.store.get("price", price["id"], False)["locked"] is True


def test_paying_calls_the_invoice_paid_hooks_and_voiding_a_paid_invoice_is_refused(
    ctx: Context, buyer: dict[str, Any], currency: dict[str, Any]
) -> None:
    heard: list[str] = []
    ctx = dataclasses.replace(
        ctx, wiring=dataclasses.replace(ctx.wiring, on_invoice_paid=(lambda _, inv: heard.append(inv["id"]),))
    )
    line = {"price": {"id": "price_x", "nickname": "x"}, "quantity": 1, "amount": 7}
    invoice = billing.create_invoice(
        ctx, customer=buyer, currency_id=currency["id"], lines=[line], billing_reason="manual"
    )
    intent = billing.pay_invoice(ctx, invoice, buyer)
    assert heard == [invoice["id"]]
    assert (invoice["status"], invoice["amount_paid"], invoice["amount_remaining"]) == ("paid", "7", "0")
    assert (intent["status"], intent["amount_received"]) == ("succeeded", "7")
    with pytest.raises(ApiError, match="already paid"):
        billing.void_invoice(ctx, invoice)


def test_a_graduated_price_stops_at_the_tier_the_quantity_reaches() -> None:
    tiers = [
        {"up_to": 10, "unit_amount": "100", "flat_amount": "7"},
        {"up_to": None, "unit_amount": "80", "flat_amount": "5"},
    ]
    graduated = {"unit_amount": "0", "billing_scheme": "tiered", "tiers_mode": "graduated", "tiers": tiers}
    # Within the first tier only: the second tier's flat amount is not reached.
    assert billing.price_amount(graduated, "pc_x", 4) == 4 * 100 + 7


def test_voiding_cancels_the_waiting_payment_and_a_void_invoice_cannot_be_voided_again(
    ctx: Context, buyer: dict[str, Any], currency: dict[str, Any]
) -> None:
    price = make_price(ctx, unit_amount="0.000000000000000050")
    invoice = an_invoice(ctx, buyer, price)
    billing.mark_payments_failing(ctx, buyer["id"], "no funds")
    assert billing.attempt_payment(ctx, invoice, buyer) is False
    assert billing.attempt_payment(ctx, invoice, buyer) is False  # the second failure reuses the waiting intent
    [intent] = ctx.store.find("payment_intent", False, invoice_id=invoice["id"])
    assert (invoice["attempt_count"], intent["last_payment_error"]["message"]) == (2, "no funds")
    ctx.events.clear()
    billing.void_invoice(ctx, invoice)
    assert (invoice["status"], invoice["auto_advance"]) == ("void", False)
    assert invoice["status_transitions"]["voided_at"] == ctx.now()
    canceled = ctx.store.get("payment_intent", intent["id"], False)
    assert (canceled["status"], canceled["cancellation_reason"]) == ("canceled", "void_invoice")
    assert [e["type"] for e in ctx.events] == ["payment_intent.canceled", "invoice.voided"]
    with pytest.raises(ApiError) as again:
        billing.void_invoice(ctx, invoice)
    assert again.value.status == 400 and "it is already void" in again.value.message
