"""Refunds: only a succeeded payment, never past what is left, never of zero, not on a rail without
refunds (unless the money was already sent), what counts as refunded, and the record and events a
refund leaves, with exact integer units."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from payment_kit_sandbox.context import Context
from payment_kit_sandbox.engine import billing, refunds

from .conftest import an_invoice, emitted, make_price, paid_intent, refused

TOKEN = 10**18


@pytest.fixture
def intent(ctx: Context, buyer: dict[str, Any], currency: dict[str, Any]) -> dict[str, Any]:
    return paid_intent(ctx, buyer, currency["id"], 3 * TOKEN)


def test_a_refund_is_a_succeeded_record_of_the_payment_and_announced(
    ctx: Context, buyer: dict[str, Any], intent: dict[str, Any]
) -> None:
    heard: list[str] = []
    hooked = dataclasses.replace(
        ctx, wiring=dataclasses.replace(ctx.wiring, on_refund=(lambda _, refund: heard.append(refund["id"]),))
    )
    ctx.events.clear()
    refund = refunds.refund_payment(hooked, intent, TOKEN, reason="duplicate", metadata={"ticket": "42"})
    assert heard == [refund["id"]]
    assert emitted(hooked) == ["refund.created", "refund.succeeded"]
    assert (refund["status"], refund["amount"], refund["type"], refund["reason"]) == (
        "succeeded",
        str(TOKEN),
        "refund",
        "duplicate",
    )
    assert (refund["payment_intent_id"], refund["customer_id"], refund["currency_id"]) == (
        intent["id"],
        buyer["id"],
        intent["currency_id"],
    )
    assert (refund["invoice_id"], refund["subscription_id"]) == (None, None)
    assert refund["description"] == f"Refund of {intent['id']}" and refund["metadata"] == {"ticket": "42"}
    details = refund["payment_details"]["arcblock"]
    assert (details["payer"], details["receiver"], len(details["tx_hash"])) == (
        intent["payment_method_id"],
        "zBuyer0001",
        64,
    )
    assert ctx.store.get("refund", refund["id"], False) is not None


def test_a_refund_of_an_invoiced_payment_names_the_invoice_and_keeps_given_details(
    ctx: Context, buyer: dict[str, Any], currency: dict[str, Any]
) -> None:
    price = make_price(ctx, unit_amount="0.000000000000000010")
    invoice = an_invoice(ctx, buyer, price)
    paid = billing.pay_invoice(ctx, invoice, buyer)
    refund = refunds.refund_payment(
        ctx, paid, 4, description="goodwill", payment_details={"stripe": {"refund_id": "re_1"}}
    )
    assert (refund["invoice_id"], refund["description"], refund["payment_details"]) == (
        invoice["id"],
        "goodwill",
        {"stripe": {"refund_id": "re_1"}},
    )
    assert refunds.refundable(ctx, paid) == 6


def test_only_a_succeeded_payment_can_be_refunded(
    ctx: Context, buyer: dict[str, Any], currency: dict[str, Any]
) -> None:
    unpaid = billing.create_payment_intent(ctx, customer=buyer, currency_id=currency["id"], amount=5, description="x")
    with refused(400, f"Payment intent {unpaid['id']} cannot be refunded: it is requires_payment_method"):
        refunds.refund_payment(ctx, unpaid, 1)
    assert refunds.refundable(ctx, unpaid) == 0 and refunds.refund_summary(ctx, unpaid) is None


def test_a_rail_without_refunds_refuses_unless_the_money_was_already_sent(ctx: Context, intent: dict[str, Any]) -> None:
    method = ctx.store.get("payment_method", intent["payment_method_id"], False)
    method["features"] = {**method["features"], "refund": False}
    ctx.store.save("payment_method", method)
    with refused(400, f"payment method {method['id']} has no refunds"):
        refunds.refund_payment(ctx, intent, 1)
    assert refunds.refund_payment(ctx, intent, 1, already_sent=True)["amount"] == "1"


@pytest.mark.parametrize("amount", [0, -1])
def test_a_refund_must_be_positive_and_names_the_callers_field(
    ctx: Context, intent: dict[str, Any], amount: int
) -> None:
    with refused(400, "refund: a refund must be greater than 0"):
        refunds.refund_payment(ctx, intent, amount, field="refund")


def test_over_refunding_names_what_is_left_in_decimals_then_a_full_refund_closes_the_payment(
    ctx: Context, intent: dict[str, Any]
) -> None:
    refunds.refund_payment(ctx, intent, TOKEN // 2)
    with refused(
        400, f"amount: 2.500000000000000001 is more than the 2.5 left to refund on payment intent {intent['id']}"
    ):
        refunds.refund_payment(ctx, intent, 5 * TOKEN // 2 + 1)
    refunds.refund_payment(ctx, intent, 5 * TOKEN // 2)
    assert refunds.refund_summary(ctx, intent) == {"amount": str(3 * TOKEN), "totalAmount": str(3 * TOKEN)}
    with refused(400, f"Payment intent {intent['id']} is already fully refunded"):
        refunds.refund_payment(ctx, intent, 1)


def test_failed_refunds_and_other_kinds_do_not_count_as_refunded(ctx: Context, intent: dict[str, Any]) -> None:
    for status, kind in (("failed", "refund"), ("canceled", "refund"), ("succeeded", "payout"), ("pending", "refund")):
        ctx.store.insert(
            "refund",
            ctx.stamp({"amount": "100", "status": status, "type": kind, "payment_intent_id": intent["id"]}, "re"),
        )
    assert refunds.refunded(ctx, intent) == 100  # only the pending refund holds money
    assert refunds.refundable(ctx, intent) == 3 * TOKEN - 100
    assert refunds.refund_summary(ctx, intent) == {"amount": "100", "totalAmount": str(3 * TOKEN)}


def test_refund_amounts_convert_in_the_payments_currency(ctx: Context, intent: dict[str, Any]) -> None:
    assert refunds.refund_units(ctx, intent, "1.000000000000000001") == TOKEN + 1
    with refused(400, "refund_amount: 0.0000000000000000001 has more than 18 decimal places"):
        refunds.refund_units(ctx, intent, "0.0000000000000000001", "refund_amount")
    orphan = {**intent, "currency_id": "pc_gone"}
    assert refunds.refund_units(ctx, orphan, "7") == 7
    with refused(400, "amount: 0.5 has more than 0 decimal places"):
        refunds.refund_units(ctx, orphan, "0.5")


def test_chain_details_name_the_transfer_on_each_rail() -> None:
    assert refunds.chain_details("arcblock", "pm", "zR", "AB") == {
        "arcblock": {"tx_hash": "AB", "payer": "pm", "receiver": "zR", "type": "transfer"}
    }
    evm = {"tx_hash": "0xab", "payer": "pm", "block_height": "0", "gas_used": "0", "gas_price": "0", "type": "transfer"}
    assert refunds.chain_details("ethereum", "pm", "zR", "AB") == {"ethereum": evm}
    assert refunds.chain_details("base", "pm", "zR", "AB") == {"base": evm}
    assert refunds.chain_details("base", "pm", "zR", "")["base"]["tx_hash"] == ""
    assert refunds.chain_details("bitcoin", "pm", "zR", "AB") == {
        "bitcoin": {"tx_hash": "ab", "payer": "pm", "block_height": 0, "confirmations": 0}
    }
    assert refunds.chain_details("stripe", "pm", "zR", "ABCDEF") == {"stripe": {"refund_id": "re_abcdef"}}
    assert refunds.chain_details("paypal", "pm", "zR") is None
    generated = refunds.chain_details("arcblock", "pm", "zR")["arcblock"]["tx_hash"]
    assert len(generated) == 64 and generated == generated.upper()
