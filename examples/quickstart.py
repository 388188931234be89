"""The PaymentKit Node SDK README's flows, in Python, end to end.

Runs against any PaymentKit in test mode (`PAYMENT_KIT_BASE_URL`,
`PAYMENT_KIT_API_KEY`); `make demo` starts a local sandbox and runs this
against it. Against the sandbox, the two things a person or time would do on
a real deployment (paying the checkout page, a billing period passing) are
done through the sandbox's own routes (`payment_kit_sandbox.control`).
Exits non-zero at the first failing step.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from payment_kit import PaymentKit, PaymentKitError, format_amount, format_credit_amount, from_units

STEPS: list[tuple[str, Callable[[dict[str, Any]], str]]] = []


def step(title: str) -> Callable[[Callable[[dict[str, Any]], str]], Callable[[dict[str, Any]], str]]:
    def register(fn: Callable[[dict[str, Any]], str]) -> Callable[[dict[str, Any]], str]:
        STEPS.append((title, fn))
        return fn

    return register


payment = PaymentKit()  # PAYMENT_KIT_BASE_URL, PAYMENT_KIT_API_KEY
payment.environments.set_test_mode(True)
RUN = uuid.uuid4().hex[:8]
NOW = int(time.time())


def sandbox() -> Any:
    from payment_kit_sandbox.control import SandboxControl

    return SandboxControl(payment.base_url or "", os.environ["PAYMENT_KIT_API_KEY"], livemode=False)


@step("Create a product")
def create_product(s: dict[str, Any]) -> str:
    s["product"] = payment.products.create(name="Test Product", description="Product description", type="service")
    return f"{s['product'].id} ({s['product'].name})"


@step("Create a recurring price with currency options")
def create_price(s: dict[str, Any]) -> str:
    currency = payment.payment_currencies.list().list[0]
    s["currency"] = currency
    s["price"] = payment.prices.create(
        product_id=s["product"].id,
        type="recurring",
        unit_amount="0.001",
        currency_id=currency.id,
        recurring={"interval": "month", "interval_count": 1, "usage_type": "licensed"},
        quantity_available=10,
        quantity_limit_per_checkout=2,
        currency_options=[{"currency_id": currency.id, "unit_amount": "0.001"}],
    )
    s["metered"] = payment.prices.create(
        product_id=s["product"].id,
        type="recurring",
        unit_amount="0.0001",
        currency_id=currency.id,
        recurring={"interval": "month", "interval_count": 1, "usage_type": "metered", "aggregate_usage": "sum"},
        nickname="API calls",
    )
    monthly = format_amount(s["price"].unit_amount, currency.decimal)
    units = s["price"].unit_amount
    return f"{s['price'].id}: {monthly} {currency.symbol}/month = {units} units; metered {s['metered'].id}"


@step("Create a checkout session with service actions and an expiry")
def create_checkout(s: dict[str, Any]) -> str:
    s["session"] = payment.checkout.sessions.create(
        success_url="https://example.com/success",
        cancel_url="https://example.com/cancel",
        mode="subscription",
        line_items=[{"price_id": s["price"].id, "quantity": 1}, {"price_id": s["metered"].id, "quantity": 1}],
        subscription_data={
            "service_actions": [
                {
                    "type": "notification",
                    "text": {"zh": "查看文档", "en": "View Documentation"},
                    "link": "https://docs.example.com",
                    "triggerEvents": ["customer.subscription.started"],
                }
            ]
        },
        expires_at=NOW + 3600,
        metadata={"run": RUN},
    )
    return f"{s['session'].id} -> {s['session'].url}"


@step("Pay it (the sandbox plays the customer's wallet)")
def pay_checkout(s: dict[str, Any]) -> str:
    with sandbox() as control:
        done = control.complete_checkout(s["session"].id, customer_did=f"z1demo{RUN}", customer_name="Ada")
    session = payment.checkout.sessions.retrieve(s["session"].id)
    s["customer_id"] = session.customer_id
    s["subscription_id"] = session.subscription_id
    return f"status {done['status']}, customer {session.customer_id}, subscription {session.subscription_id}"


@step("List subscriptions, active first, oldest update first")
def list_subscriptions(s: dict[str, Any]) -> str:
    subs = payment.subscriptions.list(order="updated_at:ASC", active_first=True)
    mine = payment.subscriptions.retrieve(s["subscription_id"])
    s["items"] = {item.price_id: item.id for item in mine.items}
    return f"{subs.count} subscription(s); ours is {mine.status} until {mine.current_period_end}"


@step("Report usage on the metered item")
def report_usage(s: dict[str, Any]) -> str:
    record = payment.subscription_items.create_usage_record(
        subscription_item_id=s["items"][s["metered"].id], quantity=1, action="increment", timestamp=int(time.time())
    )
    return f"usage record {record.id}: quantity {record.quantity}"


@step("Create a meter")
def create_meter(s: dict[str, Any]) -> str:
    s["meter"] = payment.meters.create(
        name="API Calls",
        event_name=f"api_calls_{RUN}",
        aggregation_method="sum",
        unit="calls",
        description="Track API usage",
    )
    return f"{s['meter'].id} ({s['meter'].event_name}), credit currency {s['meter'].currency_id}"


@step("Grant credits to the customer")
def grant_credits(s: dict[str, Any]) -> str:
    grant = payment.credit_grants.create(
        customer_id=s["customer_id"],
        amount="1000",
        currency_id=s["meter"].currency_id,
        category="promotional",
        name="New user bonus credits",
        expires_at=int(time.time()) + 30 * 24 * 60 * 60,
    )
    s["credit"] = payment.payment_currencies.retrieve(s["meter"].currency_id)
    granted = format_credit_amount(from_units(grant.amount, s["credit"].decimal), s["credit"].symbol)
    return f"{grant.id}: {granted} ({grant.amount} units), {grant.status}"


@step("Report a usage event")
def report_event(s: dict[str, Any]) -> str:
    event = payment.meter_events.create(
        event_name=s["meter"].event_name,
        payload={"customer_id": s["customer_id"], "value": "10", "subscription_id": s["subscription_id"]},
        identifier=f"unique_{RUN}_{int(time.time() * 1000)}",
        timestamp=int(time.time()),
    )
    return f"{event.id}: {event.status}"


@step("Check the credit balance")
def credit_summary(s: dict[str, Any]) -> str:
    summary = payment.credit_grants.summary(customer_id=s["customer_id"])
    entry = summary.get(s["meter"].currency_id)  # None for a currency the customer has no usable grant in
    if entry is None:
        return "no credit in this currency"
    currency = entry.payment_currency
    left = from_units(entry["remainingAmount"], currency.decimal)  # integer units -> the currency's own unit
    return f"{format_credit_amount(left, currency.symbol)} left ({entry.remaining_amount} units)"


@step("View the credit transactions")
def credit_transactions(s: dict[str, Any]) -> str:
    page = payment.credit_transactions.list(customer_id=s["customer_id"], page=1, page_size=20)
    spent = [format_amount(t.credit_amount, s["credit"].decimal) for t in page]
    return f"{page.count} transaction(s): " + ", ".join(f"-{amount}" for amount in spent)


@step("Create a coupon with a promotion code, and look the code up")
def coupons(s: dict[str, Any]) -> str:
    created = payment.coupons.create(
        name="Launch week",
        percent_off=20,
        duration="once",
        max_redemptions=100,
        promotion_codes=[{"code": f"LAUNCH{RUN[:6].upper()}", "description": "Launch", "max_redemptions": 50}],
    )
    code = payment.promotion_codes.by_code(created.promotion_codes[0].code)
    return f"coupon {created.coupon.id} ({created.coupon.percent_off}% off), code {code.code} -> {code.id}"


@step("List paid and open invoices of the customer")
def invoices(s: dict[str, Any]) -> str:
    page = payment.invoices.list(status="paid,open", customer_id=s["customer_id"], page_size=10)
    totals = [
        f"{i.number} {i.status} {format_amount(i.total, i.payment_currency.decimal)} {i.payment_currency.symbol}"
        for i in page
    ]
    return f"{page.count} invoice(s): " + ", ".join(totals)


@step("Create a webhook endpoint")
def webhook(s: dict[str, Any]) -> str:
    endpoint = payment.webhook_endpoints.create(
        url="https://example.com/webhooks/payment-kit",
        enabled_events=["checkout.session.completed", "customer.subscription.created", "invoice.paid"],
        description="Order fulfilment",
    )
    return f"{endpoint.id} -> {endpoint.url} ({len(endpoint.enabled_events)} events)"


def main() -> int:
    state: dict[str, Any] = {}
    print(f"PaymentKit quickstart against {payment.base_url} (test mode)")
    for number, (title, fn) in enumerate(STEPS, 1):
        try:
            outcome = fn(state)
        except (PaymentKitError, KeyError, AttributeError) as exc:
            print(f"{number:2}. {title}: FAILED: {exc}")
            traceback.print_exc()
            return 1
        print(f"{number:2}. {title}: {outcome}")
    print(f"All {len(STEPS)} steps passed.")
    payment.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
