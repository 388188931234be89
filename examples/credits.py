"""Credit-based billing, as an AI service builds it, end to end.

Sell a credit pack through a payment link found by its `lookup_key`, give a
new customer a welcome bonus once, report one meter event per call, run short,
let auto-recharge buy the next pack, and read the balance and the ledger.

Runs against any PaymentKit in test mode (`PAYMENT_KIT_BASE_URL`,
`PAYMENT_KIT_API_KEY`); `make demo` runs it against a local sandbox. What the
buyer's wallet does on a real deployment (opening the link's page and paying)
is done through the sandbox's own routes (`payment_kit_sandbox.control`).

Units: requests take human decimals (a price's `unit_amount` "5" is 5 tokens,
a grant's `amount` "10" is 10 credits, a meter event's `value` "20" is 20
credits); answers give integer strings in the currency's smallest unit
(`remaining_amount` "4900" is 49 credits at 2 decimals). `from_units` and
`format_credit_amount` turn the second into the first.
"""

from __future__ import annotations

import os
import sys
import uuid
from decimal import Decimal
from typing import Any

from payment_kit import PaymentKit, PaymentKitError, format_amount, format_credit_amount, from_units, to_units

RUN = uuid.uuid4().hex[:8]
PACK_KEY = f"credits_500_{RUN}"  # what the app looks its pack up by
LINK_KEY = f"buy_credits_{RUN}"


def say(number: int, title: str, outcome: str) -> None:
    print(f"{number:2}. {title}: {outcome}", flush=True)


def credits_left(pk: PaymentKit, customer_id: str, currency: Any) -> str:
    """The spendable balance in credits. A currency with no usable grant is absent from the summary."""
    entry = pk.credit_grants.summary(customer_id=customer_id).get(currency.id)
    units = Decimal(entry["remainingAmount"]) if entry else Decimal(0)
    owed = pk.meter_events.pending_amount(customer_id=customer_id).get(currency.id) or "0"
    return format_credit_amount(from_units(int(units) - int(owed), currency.decimal), currency.symbol)


def welcome_bonus(pk: PaymentKit, customer_id: str, currency_id: str) -> Any:
    """Grant the welcome bonus once: a second call finds the first grant by its metadata."""
    for grant in pk.credit_grants.list(customer_id=customer_id, currency_id=currency_id, page_size=100):
        if (grant.to_dict().get("metadata") or {}).get("welcome") == "true":
            return grant
    return pk.credit_grants.create(
        customer_id=customer_id,
        currency_id=currency_id,
        amount="10",  # 10 credits (a human decimal)
        category="promotional",
        name="Welcome bonus",
        metadata={"welcome": "true"},
    )


def main() -> int:
    from payment_kit_sandbox.control import SandboxControl

    pk = PaymentKit()  # PAYMENT_KIT_BASE_URL, PAYMENT_KIT_API_KEY
    pk.environments.set_test_mode(True)
    control = SandboxControl(pk.base_url or "", os.environ["PAYMENT_KIT_API_KEY"], livemode=False)
    print(f"Credit billing walk-through against {pk.base_url} (test mode)")
    try:
        meter = pk.meters.create(name="AI calls", event_name=f"ai_call_{RUN}", aggregation_method="sum", unit="calls")
        credit = pk.payment_currencies.retrieve(meter.currency_id)
        say(1, "A meter and its credit currency", f"{meter.event_name} -> {credit.id} ({credit.decimal} decimals)")

        token = pk.payment_currencies.list().list[0]
        product = pk.products.create(name="500 AI credits", type="credit")
        pk.prices.create(
            product_id=product.id,
            type="one_time",
            unit_amount="5",  # 5 tokens
            currency_id=token.id,
            lookup_key=PACK_KEY,
            metadata={"credit_config": {"currency_id": credit.id, "credit_amount": "500", "priority": 60}},
        )
        pack = pk.prices.retrieve(PACK_KEY)
        pk.payment_links.create(line_items=[{"price_id": pack.id, "quantity": 1}], lookup_key=LINK_KEY)
        cost = format_amount(pack.unit_amount, token.decimal)
        say(
            2, "A credit pack sold through a payment link", f"{pack.id} by lookup key {PACK_KEY}: {cost} {token.symbol}"
        )

        did = f"z1credits{RUN}"
        session = control.open_payment_link(LINK_KEY, customer_did=did)
        done = control.complete_checkout(session["id"])
        customer_id = done["customer_id"]
        invoice = pk.invoices.retrieve(done["invoice_id"])
        [bought] = invoice.related_credit_grants
        granted = format_credit_amount(from_units(bought.amount, credit.decimal), credit.symbol)
        say(
            3,
            "The customer buys the pack",
            f"invoice {invoice.id} paid; grant {bought.id}: {granted}, {bought.category}",
        )

        first = welcome_bonus(pk, customer_id, credit.id)
        again = welcome_bonus(pk, customer_id, credit.id)
        assert first.id == again.id, "the welcome bonus is granted once"
        say(4, "A welcome bonus, once", f"{first.id} ({first.amount} units); asking again gives the same grant")
        say(5, "Balance", credits_left(pk, customer_id, credit))

        pk.auto_recharge_configs.submit(
            customer_id=customer_id,
            currency_id=credit.id,
            enabled=True,
            threshold=50,  # credits
            price_id=pack.id,
            quantity=1,
            daily_limits={"max_attempts": 3, "max_amount": 15},  # tokens a day
        )
        say(6, "Auto-recharge below 50 credits", "one pack at a time, at most 3 a day or 15 tokens")

        for call in range(3):
            pk.meter_events.create(
                event_name=meter.event_name,
                payload={"customer_id": customer_id, "value": "180"},  # 180 credits per call
                identifier=f"call_{RUN}_{call}",
            )
        say(7, "Three calls of 180 credits", f"left: {credits_left(pk, customer_id, credit)}")

        recharges = [i for i in pk.invoices.list(customer_id=customer_id) if i.billing_reason == "auto_recharge"]
        config = pk.auto_recharge_configs.get_for_customer(customer_id, currency_id=credit.id)
        stats = config.daily_stats
        say(
            8,
            "Run short: auto-recharge bought",
            f"{len(recharges)} pack(s); today {stats.attempt_count} attempt(s), {stats.total_amount} {token.symbol}",
        )

        check = pk.credit_grants.verify_availability(
            customer_id=customer_id, currency_id=credit.id, pending_amount=to_units("600", credit.decimal)
        )
        say(9, "Can the next 600-credit job run?", f"{check.can_continue} {check.reason or ''}".strip())

        rows = pk.credit_transactions.list(customer_id=customer_id, page_size=50)
        ledger = ", ".join(f"-{format_amount(t.credit_amount, credit.decimal)}" for t in rows)
        say(10, "Balance and ledger", f"{credits_left(pk, customer_id, credit)}; {rows.count} transaction(s): {ledger}")
    except (PaymentKitError, AssertionError, KeyError, ValueError) as exc:
        print(f"FAILED: {exc}")
        return 1
    finally:
        control.close()
        pk.close()
    print("Credit walk-through passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
