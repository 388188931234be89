"""Invoices and payments: how money is asked for and collected.

Everything that charges a customer (checkout completion, subscription
renewals, manual invoices) goes through `create_invoice` and, when the
money arrives, `pay_invoice`, which then calls the wiring's
`on_invoice_paid` hooks (a subscription waiting on the invoice recovers). Amounts are integer strings in the currency's
smallest unit; arithmetic is on Python ints.
"""

from __future__ import annotations

from typing import Any, Literal, NoReturn

from ..context import Context
from ..refusals import ApiError, bad_request
from ..skeletons import skeleton
from . import lifecycle
from .catalog import referenced_price
from .customers import referenced_customer

__all__ = [
    "VOIDABLE",
    "Line",
    "attempt_payment",
    "billable_price",
    "create_invoice",
    "create_payment_intent",
    "declined_reason",
    "manual_invoice",
    "mark_payments_failing",
    "method_of",
    "open_payment_intent",
    "pay_by_hand",
    "pay_invoice",
    "price_amount",
    "refuse_if_declined",
    "return_stake",
    "update_invoice",
    "update_payment_intent",
    "void_invoice",
]

Line = dict[str, Any]
"""An invoice line to create: `price` (the stored price), `quantity`, and optionally
`amount` (integer units, overriding price × quantity), `description`, `period`
(`{start, end}`), `subscription_item_id`, `proration`."""


def method_of(ctx: Context, currency_id: str) -> dict[str, Any]:
    currency = ctx.store.get("payment_currency", currency_id, ctx.livemode) or {}
    return ctx.store.get("payment_method", currency.get("payment_method_id", ""), ctx.livemode) or {}


def price_amount(price: dict[str, Any], currency_id: str, quantity: int) -> int:
    """What `quantity` of a price costs in `currency_id` (per-unit, or tiered), in integer units."""
    option = next(
        (o for o in price.get("currency_options") or [] if o["currency_id"] == currency_id),
        {"unit_amount": price["unit_amount"], "tiers": price.get("tiers")},
    )
    tiers = option.get("tiers") or price.get("tiers")
    if price.get("billing_scheme") == "tiered" and tiers:
        return _tiered(tiers, price.get("tiers_mode") or "graduated", quantity)
    return int(option["unit_amount"]) * quantity


def _tiered(tiers: list[dict[str, Any]], mode: str, quantity: int) -> int:
    ordered = sorted(tiers, key=lambda t: (t.get("up_to") is None, t.get("up_to") or 0))
    if mode == "volume":
        tier = next((t for t in ordered if t.get("up_to") is None or quantity <= t["up_to"]), ordered[-1])
        return int(tier.get("unit_amount") or 0) * quantity + int(tier.get("flat_amount") or 0)
    total, floor = 0, 0
    for tier in ordered:
        if quantity <= floor:
            break
        ceiling = tier.get("up_to") or quantity
        units_here = min(quantity, ceiling) - floor
        total += int(tier.get("unit_amount") or 0) * units_here + int(tier.get("flat_amount") or 0)
        floor = ceiling
    return total


def create_invoice(
    ctx: Context,
    *,
    customer: dict[str, Any],
    currency_id: str,
    lines: list[Line],
    billing_reason: str,
    subscription: dict[str, Any] | None = None,
    checkout_session_id: str | None = None,
    period: tuple[int, int] | None = None,
    discount: int = 0,
    description: str | None = None,
    due_date: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An `open` invoice (with its items) for the lines; `discount` is integer units off the subtotal."""
    now = ctx.now()
    start, end = period or (now, now)
    method = method_of(ctx, currency_id)
    sequence = int(customer.get("next_invoice_sequence") or 1)
    invoice = ctx.stamp(
        {
            **skeleton(ctx.document, "Invoice"),
            "number": f"{customer.get('invoice_prefix') or 'INV'}-{sequence:04d}",
            "statement_descriptor": "",
            "period_start": start,
            "period_end": end,
            "auto_advance": True,
            "status": "open",
            "collection_method": (subscription or {}).get("collection_method", "charge_automatically"),
            "billing_reason": billing_reason,
            "currency_id": currency_id,
            "customer_id": customer["id"],
            "subscription_id": (subscription or {}).get("id"),
            "checkout_session_id": checkout_session_id,
            "default_payment_method_id": method.get("id", ""),
            "description": description,
            "due_date": due_date,
            "customer_email": customer.get("email"),
            "customer_name": customer.get("name"),
            "customer_phone": customer.get("phone"),
            "customer_address": customer.get("address"),
            "status_transitions": {
                "finalized_at": now,
                "paid_at": None,
                "voided_at": None,
                "marked_uncollectible_at": None,
            },
            "discounts": [],
            "total_discount_amounts": [],
            "metadata": metadata or {},
        },
        "in",
    )
    subtotal = 0
    for line in lines:
        price = line["price"]
        if not price.get("locked"):
            # As PaymentKit does: a billed price can no longer change its amounts or be deleted.
            price["locked"] = True
            ctx.store.save("price", price)
        amount = int(line["amount"]) if "amount" in line else price_amount(price, currency_id, int(line["quantity"]))
        subtotal += amount
        item = ctx.stamp(
            {
                **skeleton(ctx.document, "InvoiceItem"),
                "amount": str(amount),
                "quantity": int(line["quantity"]),
                "description": line.get("description") or price.get("nickname") or "",
                "period": line.get("period") or {"start": start, "end": end},
                "currency_id": currency_id,
                "customer_id": customer["id"],
                "price_id": price["id"],
                "invoice_id": invoice["id"],
                "subscription_id": invoice["subscription_id"],
                "subscription_item_id": line.get("subscription_item_id"),
                "discountable": True,
                "discount_amounts": [],
                "discounts": [],
                "proration": bool(line.get("proration")),
                "proration_details": {},
                "metadata": {},
            },
            "ii",
        )
        ctx.store.insert("invoice_item", item)
    discount = min(discount, subtotal)
    total = subtotal - discount
    if discount:
        invoice["total_discount_amounts"] = [{"amount": str(discount), "discount": None}]
    invoice.update(
        subtotal=str(subtotal),
        subtotal_excluding_tax=str(subtotal),
        tax="0",
        total=str(total),
        amount_due=str(total),
        amount_paid="0",
        amount_remaining=str(total),
        amount_shipping="0",
        starting_balance="0",
        ending_balance="0",
    )
    # The customer's counter is read and raised in the request's transaction: a SERIALIZABLE one, or
    # one holding the customer's lock (which saving the customer row takes: store.lock_customer). Two
    # workers raising invoices for one customer at once conflict on the row or wait for each other,
    # and the second takes the next number, so numbers never repeat.
    customer["next_invoice_sequence"] = sequence + 1
    ctx.store.save("customer", customer)
    ctx.store.insert("invoice", invoice)
    ctx.emit("invoice.created", "invoice", invoice)
    ctx.emit("invoice.finalized", "invoice", invoice)
    return invoice


def create_payment_intent(
    ctx: Context,
    *,
    customer: dict[str, Any],
    currency_id: str,
    amount: int,
    description: str,
    invoice: dict[str, Any] | None = None,
    status: Literal["requires_payment_method", "succeeded"] = "requires_payment_method",
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    method = method_of(ctx, currency_id)
    intent = ctx.stamp(
        {
            **skeleton(ctx.document, "PaymentIntent"),
            "description": description,
            "amount": str(amount),
            "amount_received": str(amount) if status == "succeeded" else "0",
            "amount_capturable": "0",
            "currency_id": currency_id,
            "customer_id": customer["id"],
            "payment_method_id": method.get("id", ""),
            "invoice_id": invoice["id"] if invoice else None,
            "last_payment_error": None,
            "statement_descriptor": "",
            "status": status,
            "capture_method": "automatic",
            "confirmation_method": "automatic",
            "payment_method_types": [method.get("type", "arcblock")],
            "receipt_email": customer.get("email") or None,
            "metadata": metadata or {},
        },
        "pi",
    )
    ctx.store.insert("payment_intent", intent)
    ctx.emit("payment_intent.created", "payment_intent", intent)
    if status == "succeeded":
        ctx.emit("payment_intent.succeeded", "payment_intent", intent)
    return intent


def pay_invoice(ctx: Context, invoice: dict[str, Any], customer: dict[str, Any]) -> dict[str, Any]:
    """Collect an open invoice in full: a succeeded payment intent, the invoice `paid`. Answers the intent."""
    amount = int(invoice["amount_remaining"])
    waiting = ctx.store.get("payment_intent", invoice.get("payment_intent_id") or "", ctx.livemode)
    if waiting is not None and waiting["status"] not in ("succeeded", "canceled"):
        # The intent the open invoice was waiting on is the one that now succeeds.
        waiting.update(status="succeeded", amount=str(amount), amount_received=str(amount))
        intent = ctx.store.save("payment_intent", ctx.touch(waiting))
        ctx.emit("payment_intent.succeeded", "payment_intent", intent)
    else:
        intent = create_payment_intent(
            ctx,
            customer=customer,
            currency_id=invoice["currency_id"],
            amount=amount,
            description=f"Payment for invoice {invoice['number']}",
            invoice=invoice,
            status="succeeded",
        )
    now = ctx.now()
    invoice.update(
        status="paid",
        paid=True,
        attempted=True,
        attempt_count=int(invoice.get("attempt_count") or 0) + 1,
        amount_paid=str(int(invoice["amount_paid"]) + amount),
        amount_remaining="0",
        payment_intent_id=intent["id"],
        status_transitions={**(invoice.get("status_transitions") or {}), "paid_at": now},
    )
    ctx.store.save("invoice", ctx.touch(invoice))
    ctx.emit("invoice.paid", "invoice", invoice)
    ctx.emit("invoice.payment_succeeded", "invoice", invoice)
    # Subscriptions build on billing, not the reverse: they hear of the payment through a hook.
    for hook in ctx.wiring.on_invoice_paid:
        hook(ctx, invoice)
    return intent


def _failing_slot(ctx: Context, customer_id: str) -> str:
    return f"failing_payments:{'live' if ctx.livemode else 'test'}:{customer_id}"


def mark_payments_failing(ctx: Context, customer_id: str, reason: str | None) -> None:
    """Sandbox-only: every later payment of this customer is declined with `reason` (None: pay again)."""
    ctx.store.set_meta(_failing_slot(ctx, customer_id), reason or "")


def declined_reason(ctx: Context, customer_id: str) -> str | None:
    """Why this customer's payments are declined, if they are marked to fail."""
    return ctx.store.get_meta(_failing_slot(ctx, customer_id)) or None


def refuse_if_declined(ctx: Context, customer: dict[str, Any], what: str) -> None:
    """A wallet-driven payment (checkout, paying an invoice by hand) a failing customer makes: a 402,
    and, as the request is refused whole, nothing of it is stored."""
    reason = declined_reason(ctx, customer["id"])
    if reason:
        raise ApiError(402, f"{what}: the payment was declined ({reason})", "payment_declined")


def attempt_payment(ctx: Context, invoice: dict[str, Any], customer: dict[str, Any]) -> bool:
    """A charge the system makes by itself (a renewal, an auto-recharge): paid, or, for a customer
    marked to fail, a recorded failed attempt (the invoice stays open, its payment intent
    `requires_payment_method` with `last_payment_error`). Answers whether it was paid."""
    reason = declined_reason(ctx, customer["id"])
    if not reason:
        pay_invoice(ctx, invoice, customer)
        return True
    intent = ctx.store.get("payment_intent", invoice.get("payment_intent_id") or "", ctx.livemode)
    if intent is None:
        intent = open_payment_intent(ctx, invoice, customer)
    intent["last_payment_error"] = {
        "type": "card_error",
        "code": "payment_declined",
        "decline_code": "sandbox_marked_to_fail",
        "message": reason,
    }
    ctx.store.save("payment_intent", ctx.touch(intent))
    invoice.update(attempted=True, attempt_count=int(invoice.get("attempt_count") or 0) + 1)
    ctx.store.save("invoice", ctx.touch(invoice))
    ctx.emit("payment_intent.payment_failed", "payment_intent", intent)
    ctx.emit("invoice.payment_failed", "invoice", invoice)
    return False


def open_payment_intent(ctx: Context, invoice: dict[str, Any], customer: dict[str, Any]) -> dict[str, Any]:
    """The payment intent an open invoice waits on (`requires_payment_method`), linked to it. Answers the intent."""
    intent = create_payment_intent(
        ctx,
        customer=customer,
        currency_id=invoice["currency_id"],
        amount=int(invoice["amount_remaining"]),
        description=f"Payment for invoice {invoice['number']}",
        invoice=invoice,
    )
    invoice["payment_intent_id"] = intent["id"]
    ctx.store.save("invoice", ctx.touch(invoice))
    return intent


VOIDABLE = ("draft", "open", "uncollectible")


def void_invoice(ctx: Context, invoice: dict[str, Any]) -> dict[str, Any]:
    """Void an unpaid invoice (400 otherwise); its payment intent, if still unpaid, is canceled. Answers the invoice."""
    if invoice["status"] not in VOIDABLE:
        raise bad_request(
            f"Invoice {invoice['id']} cannot be voided: it is already {invoice['status']}; "
            "only draft, open or uncollectible invoices can be voided"
        )
    now = ctx.now()
    invoice.update(
        status="void",
        auto_advance=False,
        status_transitions={**(invoice.get("status_transitions") or {}), "voided_at": now},
    )
    ctx.store.save("invoice", ctx.touch(invoice))
    intent = ctx.store.get("payment_intent", invoice.get("payment_intent_id") or "", ctx.livemode)
    if intent is not None and intent["status"] not in ("succeeded", "canceled"):
        intent.update(status="canceled", canceled_at=now, cancellation_reason="void_invoice")
        ctx.store.save("payment_intent", ctx.touch(intent))
        ctx.emit("payment_intent.canceled", "payment_intent", intent)
    ctx.emit("invoice.voided", "invoice", invoice)
    return invoice


# What an update may change on a payment intent: its labels and preferences, never its amounts or status.
INTENT_EDITABLE = (
    "cancellation_reason",
    "capture_method",
    "confirmation_method",
    "payment_method_types",
    "description",
    "metadata",
    "receipt_email",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "setup_future_usage",
    "beneficiaries",
)


def update_invoice(ctx: Context, invoice: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """An invoice's metadata is all an update may change (replaced whole): its amounts are what was billed."""
    if "metadata" in body:
        invoice["metadata"] = body["metadata"] or {}
    return lifecycle.changed(ctx, "invoice", invoice, "invoice.updated")


def update_payment_intent(ctx: Context, intent: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A payment intent's descriptive fields change; the money it moved does not."""
    intent.update({k: v for k, v in body.items() if k in INTENT_EDITABLE})
    return lifecycle.changed(ctx, "payment_intent", intent)


def billable_price(ctx: Context, price_id: str, field: str) -> dict[str, Any]:
    """A new invoice line bills an existing price that is not archived."""
    price = referenced_price(ctx, price_id, field)
    if not price["active"]:
        raise bad_request(f"{field}: price {price['id']} is archived")
    return price


def manual_invoice(
    ctx: Context, customer: dict[str, Any], currency_id: str, lines: list[Line], body: dict[str, Any]
) -> dict[str, Any]:
    """A one-off invoice bills each price in a currency it has an amount in, paid at once only when asked."""
    for i, line in enumerate(lines):
        price = line["price"]
        offered = {price["currency_id"], *(o["currency_id"] for o in price.get("currency_options") or [])}
        if currency_id not in offered:
            raise bad_request(f"lines[{i}].price_id: price {price['id']} has no amount in currency {currency_id}")
    pay, due_date = body.get("pay", False), body.get("due_date")
    if not isinstance(pay, bool):
        raise bad_request("pay: true or false")
    if due_date is not None and (not isinstance(due_date, int) or isinstance(due_date, bool) or due_date < 0):
        raise bad_request("due_date: Unix seconds (a non-negative whole number) or null")
    if not isinstance(body.get("description", ""), str) or not isinstance(body.get("metadata", {}), dict):
        raise bad_request("description must be a string and metadata an object")
    invoice = create_invoice(
        ctx,
        customer=customer,
        currency_id=currency_id,
        lines=lines,
        billing_reason="manual",
        description=body.get("description"),
        due_date=due_date,
        metadata=body.get("metadata"),
    )
    if pay:
        attempt_payment(ctx, invoice, customer)  # a customer marked to fail leaves it open
    else:
        open_payment_intent(ctx, invoice, customer)
    return invoice


def pay_by_hand(ctx: Context, invoice: dict[str, Any]) -> dict[str, Any]:
    """Only an open (or uncollectible) invoice can be paid, by a customer whose payments go through."""
    if invoice["status"] not in ("open", "uncollectible"):
        raise bad_request(f"Invoice {invoice['id']} cannot be paid: it is {invoice['status']}")
    customer = referenced_customer(ctx, invoice["customer_id"], "customer_id")
    refuse_if_declined(ctx, customer, f"Invoice {invoice['id']}")
    pay_invoice(ctx, invoice, customer)
    return invoice


def return_stake(invoice: dict[str, Any]) -> NoReturn:
    """No invoice holds a stake to return: the sandbox collects none (there is no chain to lock tokens on)."""
    raise bad_request(
        f"Invoice {invoice['id']} holds no stake that can be returned "
        f"(billing reason {invoice.get('billing_reason')}; the sandbox collects no stakes)"
    )
