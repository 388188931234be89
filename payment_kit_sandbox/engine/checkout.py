"""Checkout: line items priced and checked, sessions opened (from an API
call or a payment link), paid, and expired.

Line items are checked the same way wherever they are written (a session,
a payment link), so a link that saves cannot later open a session that is
refused for its items. Amounts are integer units of the session currency.
"""

from __future__ import annotations

from typing import Any

from ..context import Context, new_id
from ..refusals import bad_request
from ..skeletons import skeleton
from . import billing, discounts, lifecycle, subscriptions
from .catalog import referenced_currency, referenced_price
from .customers import ensure_customer, plain_did, referenced_customer
from .money import checked_total, to_units, units
from .redirect_urls import check_redirect_url

__all__ = [
    "DEFAULT_TTL",
    "checked_lines",
    "complete",
    "expire",
    "expire_due",
    "mode_of",
    "open_session",
    "update_session",
]

KIND = "checkout_session"
DEFAULT_TTL = 24 * 60 * 60
"""PaymentKit does not document its default; a day is what Stripe-style checkouts use."""

Priced = list[tuple[dict[str, Any], dict[str, Any]]]
"""(stored line item, its price) pairs."""


# -- line items ------------------------------------------------------------------------------


def mode_of(ctx: Context, lines: list[dict[str, Any]]) -> str:
    """The mode a payment link's items imply: its first price decides (the others must agree)."""
    first = ctx.store.get("price", lines[0]["price_id"], ctx.livemode) or ctx.store.first(
        "price", ctx.livemode, lookup_key=lines[0]["price_id"]
    )
    return "subscription" if first and first["type"] == "recurring" else "payment"


def checked_lines(
    ctx: Context,
    lines: list[dict[str, Any]],
    *,
    mode: str,
    currency_id: str | None,
    check_stock: bool,
    mode_hint: str = "",
) -> tuple[Priced, str]:
    """Each line's price must exist in this mode, be active, suit the mode and the currency, and
    the quantity must respect the price's per-checkout limit (and its stock, when asked).
    Answers the lines (price ids normalised from lookup keys) with their prices, and the currency."""
    priced: Priced = []
    for i, line in enumerate(lines):
        where = f"line_items[{i}]"
        price = referenced_price(ctx, line["price_id"], f"{where}.price_id")
        if not price["active"]:
            raise bad_request(f"{where}.price_id: price {price['id']} is archived (inactive) and cannot be sold")
        _check_kind(price, mode, where, mode_hint)
        stored = {**line, "price_id": price["id"]}
        if "quantity" not in line:
            # PaymentKit's typings give every line a quantity; a metered line is billed by usage,
            # so (as with Stripe) it may leave it out, and reads as 1 here (a sandbox choice).
            if not _metered(price):
                raise bad_request(
                    f"{where}.quantity: required for price {price['id']}, which is not metered "
                    "(only a metered price's line may leave it out)"
                )
            stored["quantity"] = 1
        upsell = line.get("upsell_price_id")
        if upsell:
            stored["upsell_price_id"] = referenced_price(ctx, upsell, f"{where}.upsell_price_id")["id"]
        _check_quantity(price, stored, where)
        priced.append((stored, price))
    if check_stock:
        _check_stock(priced)
    if mode == "subscription":
        _check_same_interval(priced)
    if currency_id is not None:
        currency = referenced_currency(ctx, currency_id, "currency_id")
    else:
        currency = ctx.get("payment_currency", priced[0][1]["currency_id"], "Payment currency")
    for i, (_, price) in enumerate(priced):
        offered = {price["currency_id"], *(o["currency_id"] for o in price.get("currency_options") or [])}
        if currency["id"] not in offered:
            raise bad_request(
                f"line_items[{i}].price_id: price {price['id']} has no amount in currency {currency['id']}"
                f" ({currency['symbol']})"
            )
    return priced, currency["id"]


def _check_kind(price: dict[str, Any], mode: str, where: str, hint: str) -> None:
    if mode == "setup":
        return
    wanted = "recurring" if mode == "subscription" else "one_time"
    if price["type"] != wanted:
        kind = "recurring" if price["type"] == "recurring" else "one-time"
        takes = "recurring" if wanted == "recurring" else "one-time"
        raise bad_request(
            f"{where}.price_id: price {price['id']} is {kind}; mode {mode} takes {takes} prices only{hint}"
        )


def _check_quantity(price: dict[str, Any], line: dict[str, Any], where: str) -> None:
    quantity = int(line["quantity"])
    if quantity < 1 and not _metered(price):
        raise bad_request(f"{where}.quantity: must be at least 1")
    limit = int(price.get("quantity_limit_per_checkout") or 0)
    if limit > 0 and quantity > limit:
        raise bad_request(f"{where}.quantity: at most {limit} of price {price['id']} can be bought in one checkout")
    adjustable = line.get("adjustable_quantity") or {}
    if adjustable.get("enabled") and not adjustable["minimum"] <= quantity <= adjustable["maximum"]:
        raise bad_request(
            f"{where}.adjustable_quantity: quantity {quantity} is outside"
            f" {adjustable['minimum']}..{adjustable['maximum']}"
        )


def units_left(price: dict[str, Any]) -> int | None:
    """Stock still for sale: `quantity_available` is the stock in all (0: no limit), less `quantity_sold`.

    Read as a cap rather than a count that sales lower, so that selling the last unit leaves the
    price sold out instead of turning `0` into "no limit"."""
    stock = int(price.get("quantity_available") or 0)
    return None if stock == 0 else max(stock - int(price.get("quantity_sold") or 0), 0)


def _check_stock(priced: Priced) -> None:
    """Limited stock must cover every line of a price together."""
    wanted: dict[str, int] = {}
    for i, (line, price) in enumerate(priced):
        wanted[price["id"]] = wanted.get(price["id"], 0) + int(line["quantity"])
        left = units_left(price)
        if left is not None and wanted[price["id"]] > left:
            raise bad_request(f"line_items[{i}].quantity: only {left} of price {price['id']} left in stock")


def _check_same_interval(priced: Priced) -> None:
    def every(price: dict[str, Any]) -> tuple[str, int]:
        recurring = price.get("recurring") or {}
        return recurring.get("interval", ""), int(recurring.get("interval_count") or 1)

    first = every(priced[0][1])
    for i, (_, price) in enumerate(priced[1:], start=1):
        if every(price) != first:
            raise bad_request(
                f"line_items[{i}].price_id: price {price['id']} recurs every {every(price)[1]} {every(price)[0]},"
                f" unlike line_items[0] (every {first[1]} {first[0]}); one subscription has one billing interval"
            )


def _metered(price: dict[str, Any]) -> bool:
    return (price.get("recurring") or {}).get("usage_type") == "metered"


def line_amount(ctx: Context, line: dict[str, Any], price: dict[str, Any], currency_id: str, where: str) -> int:
    """What one line costs now, in integer units (metered usage is billed later, so 0 here); a 400
    naming the line when that is more than any payment can move (`money.MAX_UNITS`)."""
    return checked_total(_line_cost(ctx, line, price, currency_id, where), where, " of the line (price × quantity)")


def _line_cost(ctx: Context, line: dict[str, Any], price: dict[str, Any], currency_id: str, where: str) -> int:
    quantity = int(line["quantity"])
    if _metered(price):
        return 0
    option = next((o for o in price.get("currency_options") or [] if o["currency_id"] == currency_id), None)
    custom = (option or {}).get("custom_unit_amount") or price.get("custom_unit_amount")
    if line.get("custom_amount") is not None:
        if not custom:
            raise bad_request(f"{where}.custom_amount: price {price['id']} does not take a custom amount")
        currency = ctx.get("payment_currency", currency_id, "Payment currency")
        chosen = int(to_units(line["custom_amount"], currency["decimal"], f"{where}.custom_amount"))
        low, high = units(custom.get("minimum")), units(custom.get("maximum"))
        if chosen < low or (high and chosen > high):
            raise bad_request(
                f"{where}.custom_amount: {line['custom_amount']} is outside what price {price['id']} accepts"
            )
        return chosen * quantity
    if custom:
        return units(custom.get("preset")) * quantity
    return billing.price_amount(price, currency_id, quantity)


def subtotal(ctx: Context, priced: Priced, currency_id: str) -> int:
    """The lines' total, refused (400) when a line or the sum is more than any payment can move."""
    total = sum(
        line_amount(ctx, line, price, currency_id, f"line_items[{i}]") for i, (line, price) in enumerate(priced)
    )
    return checked_total(total, "line_items", " of all lines")


# -- opening a session -----------------------------------------------------------------------

SESSION_FIELDS = (
    "client_reference_id",
    "success_url",
    "cancel_url",
    "customer_creation",
    "customer_update",
    "after_expiration",
    "allow_promotion_codes",
    "consent_collection",
    "custom_fields",
    "custom_text",
    "invoice_creation",
    "payment_method_types",
    "phone_number_collection",
    "submit_type",
    "billing_address_collection",
    "subscription_data",
    "payment_intent_data",
    "nft_mint_settings",
    "cross_sell_behavior",
    "enable_subscription_grouping",
    "metadata",
)


def open_session(ctx: Context, body: dict[str, Any], *, payment_link_id: str | None = None) -> dict[str, Any]:
    """A new `open` session from a create body (or a payment link's settings shaped like one)."""
    for field in ("success_url", "cancel_url"):
        check_redirect_url(body.get(field), field)
    now = ctx.now()
    expires_at = body.get("expires_at")
    if expires_at is not None and expires_at <= now:
        raise bad_request(f"expires_at: {expires_at} is not in the future (the sandbox clock says {now})")
    trial_end = (body.get("subscription_data") or {}).get("trial_end")
    if body["mode"] == "subscription" and trial_end is not None and trial_end <= now:
        raise bad_request(f"subscription_data.trial_end: {trial_end} is not in the future")
    priced, currency_id = checked_lines(
        ctx, body["line_items"], mode=body["mode"], currency_id=body.get("currency_id"), check_stock=True
    )
    customer_id, customer_did = _named_customer(ctx, body)
    amount = subtotal(ctx, priced, currency_id)
    method = billing.method_of(ctx, currency_id)
    nft = (body.get("nft_mint_settings") or {}).get("enabled")
    session = ctx.stamp(
        {
            **skeleton(ctx.document, "CheckoutSession"),
            "customer_creation": "if_required",
            "allow_promotion_codes": False,
            "custom_fields": [],
            "payment_method_types": [method["type"]] if method else [],
            "submit_type": "pay",
            "billing_address_collection": "auto",
            "metadata": {},
            **{k: body[k] for k in SESSION_FIELDS if k in body},
            "mode": body["mode"],
            "status": "open",
            "payment_status": "unpaid",
            "line_items": [line for line, _ in priced],
            "currency_id": currency_id,
            "customer_id": customer_id,
            "customer_did": customer_did,
            "payment_link_id": payment_link_id,
            "amount_subtotal": str(amount),
            "amount_total": str(amount),
            "total_details": {"amount_discount": "0", "amount_shipping": "0", "amount_tax": "0"},
            "discounts": [],
            "expires_at": expires_at if expires_at is not None else now + DEFAULT_TTL,
            "nft_mint_status": "pending" if nft else "disabled",
            "created_via": "api",
        },
        "cs",
    )
    session["url"] = f"{ctx.base_url}/checkout/pay/{session['id']}"
    ctx.store.insert(KIND, session)
    ctx.emit("checkout.session.created", KIND, session)
    return session


def _named_customer(ctx: Context, body: dict[str, Any]) -> tuple[str | None, str | None]:
    did = plain_did(body["customer_did"]) if body.get("customer_did") else None
    if not body.get("customer_id"):
        known = ctx.store.first("customer", ctx.livemode, did=did) if did else None
        return (known["id"] if known else None), did
    customer = referenced_customer(ctx, body["customer_id"], "customer_id")
    if did and did != customer["did"]:
        raise bad_request(f"customer_did: {did} is not the DID of customer {customer['id']} ({customer['did']})")
    return customer["id"], customer["did"]


# -- closing a session -----------------------------------------------------------------------


def _refuse_unless_open(session: dict[str, Any], doing: str) -> None:
    if session["status"] == "expired":
        raise bad_request(f"Checkout session {session['id']} is already expired; it cannot {doing}")
    if session["status"] == "complete":
        raise bad_request(f"Checkout session {session['id']} is already complete; it cannot {doing}")


def expire(ctx: Context, session: dict[str, Any]) -> dict[str, Any]:
    _refuse_unless_open(session, "be expired (only an open session can)")
    session["status"] = "expired"
    ctx.store.save(KIND, ctx.touch(session))
    ctx.emit("checkout.session.expired", KIND, session)
    return session


def expire_due(ctx: Context) -> dict[str, Any]:
    """Open sessions past `expires_at` expire when the clock passes it (in both modes: the clock is one)."""
    now, expired = ctx.now(), 0
    for session in ctx.on_this_clock(ctx.store.all(KIND, None)):
        if session["status"] == "open" and session["expires_at"] <= now:
            session["status"] = "expired"
            ctx.store.save(KIND, ctx.touch(session))
            ctx.emit("checkout.session.expired", KIND, session)
            expired += 1
    return {"checkout_sessions_expired": expired}


def complete(ctx: Context, session: dict[str, Any], payer: dict[str, Any]) -> dict[str, Any]:
    """What the payer's wallet does: the customer is ensured, the money collected (or the
    subscription started), stock taken, and the session closed `complete`.

    `payer`: `customer_did`, `customer_name`, `customer_email`, `promotion_code` (all optional
    here; the DID is required unless the session already names its customer)."""
    _refuse_unless_open(session, "be completed")
    if session["expires_at"] <= ctx.now():
        raise bad_request(f"Checkout session {session['id']} expired at {session['expires_at']}; it cannot be paid")
    customer = _payer(ctx, session, payer)
    if session["mode"] != "setup":
        billing.refuse_if_declined(ctx, customer, f"Checkout session {session['id']}")
    priced, currency_id = checked_lines(
        ctx, session["line_items"], mode=session["mode"], currency_id=session["currency_id"], check_stock=True
    )
    amount = subtotal(ctx, priced, currency_id)
    coupon, promo, off = _discount(ctx, session, customer, payer.get("promotion_code"), amount)
    session.update(
        amount_subtotal=str(amount),
        amount_total=str(amount - off),
        customer_id=customer["id"],
        customer_did=customer["did"],
        customer_details={
            "name": payer.get("customer_name") or customer.get("name") or None,
            "email": payer.get("customer_email") or customer.get("email") or None,
            "phone": customer.get("phone") or None,
            "address": customer.get("address"),
        },
    )
    subscription = None
    if session["mode"] == "payment":
        _collect_payment(ctx, session, customer, priced, off)
    elif session["mode"] == "subscription":
        subscription = _start_subscription(ctx, session, customer, priced)
    else:
        session["payment_status"] = "no_payment_required"
    if coupon is not None:
        discounts.redeem(ctx, coupon, promo, customer, subscription=subscription, checkout_session=session)
    if session["mode"] != "setup":
        _take_stock(ctx, priced)
    if session.get("nft_mint_status") == "pending":
        _mint(session, customer)
    session["status"] = "complete"
    ctx.store.save(KIND, ctx.touch(session))
    ctx.emit("checkout.session.completed", KIND, session)
    if session.get("nft_mint_status") == "minted":
        ctx.emit("checkout.session.nft_minted", KIND, session)
    return session


def _payer(ctx: Context, session: dict[str, Any], payer: dict[str, Any]) -> dict[str, Any]:
    did = payer.get("customer_did")
    named = session.get("customer_did")
    if session.get("customer_id"):
        customer = ctx.store.get("customer", session["customer_id"], ctx.livemode)
        named = customer["did"] if customer else named
    if did and named and plain_did(did) != named:
        raise bad_request(f"customer_did: session {session['id']} is for {named}, not {plain_did(did)}")
    did = did or named
    if not did:
        raise bad_request(f"customer_did is required: session {session['id']} does not name its customer")
    return ensure_customer(ctx, did, name=payer.get("customer_name"), email=payer.get("customer_email"))


def _discount(
    ctx: Context, session: dict[str, Any], customer: dict[str, Any], code: str | None, amount: int
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, int]:
    if not code:
        return None, None, 0
    if not session.get("allow_promotion_codes"):
        raise bad_request(
            f"promotion_code: session {session['id']} does not accept promotion codes (allow_promotion_codes is off)"
        )
    if session["mode"] == "setup":
        raise bad_request("promotion_code: a setup session has nothing to discount")
    coupon, promo = discounts.resolve(
        ctx, promotion_code=code, customer=customer, currency_id=session["currency_id"], subtotal=amount
    )
    off = min(int(discounts.amount_off(ctx, coupon, session["currency_id"], amount)), amount)
    session["discounts"] = [
        {
            "coupon": coupon["id"],
            "promotion_code": promo["id"] if promo else None,
            "discount_amount": str(off),
            "verification_method": None,
            "verification_data": None,
        }
    ]
    session["total_details"] = {
        **(session.get("total_details") or {}),
        "amount_discount": str(off),
        "breakdown": {"discounts": [{"amount": str(off), "discount": coupon["id"]}], "taxes": []},
    }
    return coupon, promo, off


def _collect_payment(ctx: Context, session: dict[str, Any], customer: dict[str, Any], priced: Priced, off: int) -> None:
    currency_id = session["currency_id"]
    lines = [
        {"price": price, "quantity": int(line["quantity"]), "amount": line_amount(ctx, line, price, currency_id, "")}
        for line, price in priced
    ]
    intent_data = session.get("payment_intent_data") or {}
    invoice = billing.create_invoice(
        ctx,
        customer=customer,
        currency_id=currency_id,
        lines=lines,
        billing_reason="manual",
        checkout_session_id=session["id"],
        discount=off,
        description=intent_data.get("description") or None,
        metadata=session.get("metadata") or {},
    )
    intent = billing.pay_invoice(ctx, invoice, customer)
    session.update(
        invoice_id=invoice["id"],
        payment_intent_id=intent["id"],
        payment_status="paid" if int(invoice["total"]) > 0 else "no_payment_required",
    )


def _start_subscription(
    ctx: Context, session: dict[str, Any], customer: dict[str, Any], priced: Priced
) -> dict[str, Any]:
    data = session.get("subscription_data") or {}
    subscription, invoice = subscriptions.start_subscription(
        ctx,
        customer=customer,
        currency_id=session["currency_id"],
        items=[{"price": price, "quantity": int(line["quantity"])} for line, price in priced],
        trial_period_days=data.get("trial_period_days") or 0,
        trial_end=data.get("trial_end"),
        service_actions=data.get("service_actions"),
        description=data.get("description"),
        metadata={**(session.get("metadata") or {}), **(data.get("metadata") or {})},
        checkout_session=session,
        days_until_due=data.get("days_until_due"),
        days_until_cancel=data.get("days_until_cancel"),
        billing_cycle_anchor=data.get("billing_cycle_anchor"),
        proration_behavior=data.get("proration_behavior"),
    )
    # A checkout's first invoice is paid by start_subscription itself: the payer's wallet just paid it.
    paid = invoice is not None and int(invoice.get("amount_paid") or 0) > 0
    session.update(
        subscription_id=subscription["id"],
        success_subscription_count=1,
        invoice_id=invoice["id"] if invoice else None,
        payment_intent_id=(invoice or {}).get("payment_intent_id"),
        payment_status="paid" if paid else "no_payment_required",
    )
    return subscription


def _take_stock(ctx: Context, priced: Priced) -> None:
    """Sold units count as sold (and so leave limited stock); a sold price is locked against amount changes."""
    for line, stale in priced:
        price = ctx.store.get("price", stale["id"], ctx.livemode) or stale  # two lines may share a price
        quantity = int(line["quantity"])
        # Stock checked and taken in the paying request's SERIALIZABLE transaction (store.run): of two
        # workers selling the last units at once, one is aborted and its retry finds them sold.
        price["quantity_sold"] = int(price.get("quantity_sold") or 0) + quantity
        price["locked"] = True
        ctx.store.save("price", ctx.touch(price))


def _mint(session: dict[str, Any], customer: dict[str, Any]) -> None:
    """What the chain does for a session that mints an NFT: the buyer owns a new asset."""
    session["nft_mint_status"] = "minted"
    session["nft_mint_details"] = {
        "type": "arcblock",
        "arcblock": {"tx_hash": new_id("tx"), "address": new_id("nft"), "owner": customer["did"], "error": None},
        "ethereum": None,
        "base": None,
    }


def update_session(ctx: Context, session: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """A session's metadata is all an update may change: its lines and payment are the payer's."""
    if "metadata" in body:
        session["metadata"] = body["metadata"]
    return lifecycle.changed(ctx, KIND, session)
