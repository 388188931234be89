"""Refunds: giving (part of) a succeeded payment back.

Every refund the sandbox makes, whichever route asked for it, goes through
`refund_payment`, so the rules are the same everywhere: only a succeeded
payment can be refunded, never by more than is left, and the money is sent
at once (there is no chain to wait for), so the refund is `succeeded` by the
time it is answered. Amounts are integer units; the caller converts.
"""

from __future__ import annotations

import secrets
from typing import Any

from ..context import Context
from ..refusals import bad_request
from ..skeletons import skeleton
from . import lifecycle
from .billing import method_of
from .customers import find_customer
from .money import from_units, to_units, units

__all__ = [
    "chain_details",
    "refund_payment",
    "refund_requested",
    "refund_summary",
    "refund_units",
    "refundable",
    "refunded",
    "sync_refund",
]

# What a synced refund keeps of the sync request, besides its own metadata.
SYNC_METADATA = ("orderId", "destination", "contract", "chainType", "chainApiHost", "customerName")

# Refunds that still hold (or have already moved) money; failed and canceled ones gave nothing back.
_COUNTED = ("pending", "requires_action", "processing", "succeeded")


def refunded(ctx: Context, intent: dict[str, Any]) -> int:
    """What has been refunded of a payment so far (including refunds still on their way)."""
    return sum(
        units(r["amount"])
        for r in ctx.store.find("refund", ctx.livemode, payment_intent_id=intent["id"])
        if r["status"] in _COUNTED and r.get("type", "refund") == "refund"
    )


def refundable(ctx: Context, intent: dict[str, Any]) -> int:
    return units(intent.get("amount_received")) - refunded(ctx, intent)


def refund_summary(ctx: Context, intent: dict[str, Any]) -> dict[str, str] | None:
    """`{amount: refunded so far, totalAmount: what was paid}`, once the payment has any refund."""
    if not ctx.store.first("refund", ctx.livemode, payment_intent_id=intent["id"]):
        return None
    return {"amount": str(refunded(ctx, intent)), "totalAmount": str(units(intent.get("amount_received")))}


def refund_units(ctx: Context, intent: dict[str, Any], amount: str, field: str = "amount") -> int:
    """A refund's decimal `amount` in the payment's currency units."""
    currency = ctx.store.get("payment_currency", intent["currency_id"], ctx.livemode) or {"decimal": 0}
    return int(to_units(amount, int(currency["decimal"]), field))


def chain_details(method_type: str, payer: str, receiver: str, tx_hash: str | None = None) -> dict[str, Any] | None:
    """`payment_details` for money moved on a payment method's rail (None for rails the sandbox cannot name)."""
    tx = secrets.token_hex(32).upper() if tx_hash is None else tx_hash
    if method_type == "arcblock":
        return {"arcblock": {"tx_hash": tx, "payer": payer, "receiver": receiver, "type": "transfer"}}
    if method_type in ("ethereum", "base"):
        evm = {"tx_hash": f"0x{tx.lower()}" if tx else "", "payer": payer, "block_height": "0", "gas_used": "0"}
        return {method_type: {**evm, "gas_price": "0", "type": "transfer"}}
    if method_type == "bitcoin":
        return {"bitcoin": {"tx_hash": tx.lower(), "payer": payer, "block_height": 0, "confirmations": 0}}
    if method_type == "stripe":
        return {"stripe": {"refund_id": f"re_{tx[:24].lower()}"}}
    return None


def refund_payment(
    ctx: Context,
    intent: dict[str, Any],
    amount: int,
    *,
    field: str = "amount",
    reason: str | None = None,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
    payment_details: dict[str, Any] | None = None,
    already_sent: bool = False,
) -> dict[str, Any]:
    """Refund `amount` units of a succeeded payment intent: a `succeeded` refund, or a 400 saying why not.

    `already_sent` records money another system moved, so the payment method's own
    refund support does not matter.
    """
    currency = ctx.store.get("payment_currency", intent["currency_id"], ctx.livemode) or {"decimal": 0}
    decimal = int(currency.get("decimal") or 0)
    if intent["status"] != "succeeded":
        raise bad_request(
            f"Payment intent {intent['id']} cannot be refunded: it is {intent['status']}, "
            "and only a succeeded payment can be refunded"
        )
    method = ctx.store.get("payment_method", intent.get("payment_method_id") or "", ctx.livemode) or method_of(
        ctx, intent["currency_id"]
    )
    if not already_sent and (method.get("features") or {}).get("refund") is False:
        raise bad_request(
            f"Payment intent {intent['id']} cannot be refunded: payment method {method['id']} has no refunds"
        )
    left = refundable(ctx, intent)
    if left <= 0:
        raise bad_request(f"Payment intent {intent['id']} is already fully refunded")
    if amount <= 0:
        raise bad_request(f"{field}: a refund must be greater than 0")
    if amount > left:
        raise bad_request(
            f"{field}: {from_units(amount, decimal)} is more than the {from_units(left, decimal)} "
            f"left to refund on payment intent {intent['id']}"
        )
    invoice = ctx.store.get("invoice", intent.get("invoice_id") or "", ctx.livemode)
    customer = ctx.store.get("customer", intent.get("customer_id") or "", ctx.livemode) or {}
    refund = ctx.stamp(
        {
            **skeleton(ctx.document, "Refund"),
            "type": "refund",
            "status": "succeeded",
            "description": description if description is not None else f"Refund of {intent['id']}",
            "amount": str(amount),
            "currency_id": intent["currency_id"],
            "customer_id": intent.get("customer_id") or "",
            "payment_intent_id": intent["id"],
            "payment_method_id": method.get("id") or intent.get("payment_method_id") or "",
            "invoice_id": invoice["id"] if invoice else None,
            "subscription_id": (invoice or {}).get("subscription_id"),
            "metadata": metadata or {},
            "reason": reason,
            "attempt_count": 1,
            "attempted": True,
            "starting_balance": "0",
            "ending_balance": "0",
            "payment_details": payment_details
            if payment_details is not None
            else chain_details(method.get("type", ""), method.get("id", ""), customer.get("did", "")),
        },
        "re",
    )
    ctx.store.insert("refund", refund)
    for hook in ctx.wiring.on_refund:  # e.g. credit a refunded purchase granted is taken back
        hook(ctx, refund)
    ctx.emit("refund.created", "refund", refund)
    ctx.emit("refund.succeeded", "refund", refund)
    return refund


def sync_refund(
    ctx: Context, customer: dict[str, Any], currency: dict[str, Any], body: dict[str, Any]
) -> dict[str, Any]:
    """Record a refund another system already sent on chain, for more than 0, against a payment of its own."""
    amount = int(to_units(body["amount"], int(currency["decimal"]), "amount"))
    if amount <= 0:
        raise bad_request("amount: a refund must be greater than 0")
    method = ctx.store.get("payment_method", currency["payment_method_id"], ctx.livemode) or method_of(
        ctx, currency["id"]
    )
    # A refund always names the payment it gives back; the money synced here was paid outside
    # PaymentKit, so it is recorded as a payment intent of its own (no events: nothing was collected).
    order = body.get("orderId")
    intent = ctx.stamp(
        {
            **skeleton(ctx.document, "PaymentIntent"),
            "description": f"Paid outside PaymentKit{f' (order {order})' if order else ''}; refunded by sync",
            "amount": str(amount),
            "amount_received": str(amount),
            "amount_capturable": "0",
            "currency_id": currency["id"],
            "customer_id": customer["id"],
            "payment_method_id": method.get("id", ""),
            "statement_descriptor": "",
            "status": "succeeded",
            "capture_method": "automatic",
            "confirmation_method": "automatic",
            "payment_method_types": [method.get("type", body["chainType"])],
            "metadata": {"refund_sync": "true", **({"orderId": order} if order else {})},
        },
        "pi",
    )
    lifecycle.added(ctx, "payment_intent", intent)
    return refund_payment(
        ctx,
        intent,
        amount,
        reason="requested_by_admin",
        description=body.get("description") or f"On-chain refund to {body['destination']}",
        metadata={**{k: body[k] for k in SYNC_METADATA if k in body}, **(body.get("metadata") or {})},
        payment_details=chain_details(body["chainType"], method.get("id", ""), body["destination"], tx_hash=""),
        already_sent=True,
    )


def _linked(ctx: Context, body: dict[str, Any], field: str, kind: str, expected: str | None, what: str) -> None:
    """A link the body names must exist and be the payment intent's own (a refund cannot move money elsewhere)."""
    given = body.get(field)
    if given is None:
        return
    found = find_customer(ctx, given) if kind == "customer" else ctx.store.get(kind, given, ctx.livemode)
    if found is None:
        raise bad_request(f"{field}: no {kind.replace('_', ' ')} {given!r} in this mode")
    if found["id"] != expected:
        has = f"{what} {expected}" if expected else f"no {what}"
        raise bad_request(f"{field}: payment intent {body['payment_intent_id']} has {has}, not {found['id']}")


def refund_requested(ctx: Context, intent: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A refund through the API gives back part of one payment to where it came from; the sandbox holds no stakes."""
    if body.get("type") == "stake_return":
        raise bad_request("type: stake_return gives back a subscription stake, and the sandbox collects no stakes")
    invoice = ctx.store.get("invoice", intent["invoice_id"], ctx.livemode) if intent.get("invoice_id") else None
    _linked(ctx, body, "currency_id", "payment_currency", intent["currency_id"], "currency")
    _linked(ctx, body, "customer_id", "customer", intent.get("customer_id"), "customer")
    _linked(ctx, body, "payment_method_id", "payment_method", intent.get("payment_method_id"), "payment method")
    _linked(ctx, body, "invoice_id", "invoice", (invoice or {}).get("id"), "invoice")
    _linked(ctx, body, "subscription_id", "subscription", (invoice or {}).get("subscription_id"), "subscription")
    return refund_payment(
        ctx,
        intent,
        refund_units(ctx, intent, body["amount"]),
        reason=body.get("reason"),
        description=body.get("description"),
        metadata=body.get("metadata"),
    )
