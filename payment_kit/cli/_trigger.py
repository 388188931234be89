"""`payment-kit trigger <event-type> ...`: makes events happen for real on a sandbox.

Each event type has a recipe: the API calls and sandbox moves (paying a checkout, advancing the
clock) that make the sandbox raise it, as an app's own traffic would. Nothing is forged: the event
comes from the sandbox's billing engine, is recorded, and is delivered to every subscribed
endpoint (`payment-kit listen` shows it arrive). Each recipe makes objects of its own (named
`payment-kit trigger <tag>`), prints what it made, and checks that the event was recorded.

Which types exist is read from the OpenAPI document's `x-webhooks` (so a type added there shows
up in `trigger --help` at once, listed as having no recipe until one is written here); that needs
the `sandbox` extra, which installs the document's reader.
"""

from __future__ import annotations

import argparse
import importlib
import secrets
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .._client import PaymentKit
from .._errors import NotFoundError
from ._connection import TEST_CLOCK_HEADER, add_connection_options, client_from
from ._output import EXIT_API_ERROR, EXIT_CONNECTION, CommandError
from ._sandbox_routes import SandboxRoutes

__all__ = ["NOT_PRODUCED", "RECIPES", "add_trigger_command", "document_event_types", "needs_sandbox_extra"]

HELP_COLUMNS = 100  # the width `trigger --help` wraps a recipe's description to


def needs_sandbox_extra(command: str, exc: ImportError) -> str:
    missing = f" ({exc.name} is not installed)" if exc.name else ""
    return f"{command} needs the sandbox extra{missing}: pip install 'blocklet-payment-kit[sandbox]'"


def document_event_types() -> list[str]:
    """The event types of the document's `x-webhooks`, in its order."""
    try:
        yaml: Any = importlib.import_module("yaml")
        document: Any = importlib.import_module("payment_kit_sandbox.document")
    except ImportError as exc:
        raise CommandError(needs_sandbox_extra("payment-kit trigger", exc), EXIT_CONNECTION) from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    parsed = yaml.load(document.document_path().read_text(encoding="utf-8"), Loader=loader)
    return [str(name) for name in parsed.get("x-webhooks") or {}]


class Scenario:
    """What one recipe makes, printed as it is made."""

    def __init__(self, client: PaymentKit, routes: SandboxRoutes) -> None:
        self.client = client
        self.routes = routes
        self.tag = secrets.token_hex(4)
        self.name = f"payment-kit trigger {self.tag}"
        self.test_clock: str | None = None

    def on_test_clock(self) -> None:
        """Make what follows on a test clock of the recipe's own, so that moving time renews this
        recipe's subscription alone: on a shared sandbox, nobody else's objects move."""
        try:
            clock = self.routes.call("POST", "/sandbox/test-clocks", body={"name": self.name})
        except NotFoundError:  # a sandbox from before test clocks: the sandbox clock moves instead
            return
        self.test_clock = str(clock["id"])
        self.client = self.client.with_options(default_headers={TEST_CLOCK_HEADER: self.test_clock})
        self.routes = SandboxRoutes(self.client)
        self.made("created test clock", self.test_clock, "time moves for this recipe's objects alone")

    def made(self, what: str, object_id: str, detail: str = "") -> None:
        sys.stdout.write(f"  {what} {object_id}{f'  ({detail})' if detail else ''}\n")
        sys.stdout.flush()

    def now(self) -> int:
        """Unix seconds on the recipe's clock (the sandbox's may run ahead of this machine's)."""
        return int(self.routes.require_sandbox("payment-kit trigger")["now"])

    def customer(self) -> Any:
        customer = self.client.customers.retrieve(f"did:abt:z{self.tag}trigger", create=True)
        self.made("created customer", customer.id, customer.did)
        return customer

    def product(self) -> Any:
        product = self.client.products.create(name=self.name, type="service")
        self.made("created product", product.id, product.name)
        return product

    def price(self, *, recurring: bool = False) -> Any:
        product = self.product()
        if recurring:
            price = self.client.prices.create(
                product_id=product.id,
                type="recurring",
                unit_amount="1",
                recurring={"interval": "hour", "interval_count": 1},
            )
            self.made("created price", price.id, "1 an hour, recurring")
        else:
            price = self.client.prices.create(product_id=product.id, type="one_time", unit_amount="1")
            self.made("created price", price.id, "1, one time")
        return price

    def checkout(
        self,
        *,
        recurring: bool = False,
        nft: bool = False,
        pay: bool = True,
        subscription_data: dict[str, Any] | None = None,
    ) -> Any:
        price = self.price(recurring=recurring)
        customer = self.customer()
        extra: dict[str, Any] = {"nft_mint_settings": {"enabled": True}} if nft else {}
        if subscription_data:
            extra["subscription_data"] = subscription_data
        session = self.client.checkout.sessions.create(
            mode="subscription" if recurring else "payment",
            line_items=[{"price_id": price.id, "quantity": 1}],
            success_url="https://example.com/success",
            customer_id=customer.id,
            **extra,
        )
        self.made("created checkout session", session.id, session.mode)
        if pay:
            paid = self.routes.complete_checkout(session.id, customer.did)
            self.made("paid checkout session", session.id, f"as {customer.did}")
            return paid
        return session

    def subscription(self, **subscription_data: Any) -> Any:
        """A subscription to an hourly price, paid through checkout with `subscription_data`."""
        paid = self.checkout(recurring=True, subscription_data=subscription_data)
        subscription = self.client.subscriptions.retrieve(paid["subscription_id"])
        self.made("the checkout made subscription", subscription.id, subscription.status)
        return subscription

    def renewing_soon(self) -> Any:
        """A subscription whose first period ends a minute from now (its billing cycle anchored there),
        so that `renew` moves the clock by a minute rather than the hour of its price."""
        return self.subscription(billing_cycle_anchor=self.now() + 60)

    def renew(self, subscription: Any) -> None:
        """Moves the recipe's clock just past the end of the subscription's period (or trial)."""
        seconds = max(1, int(subscription.current_period_end) - self.now() + 1)
        if self.test_clock:
            path = f"/sandbox/test-clocks/{quote(self.test_clock, safe='')}/advance"
            self.routes.call("POST", path, body={"seconds": seconds})
            self.made("advanced the test clock", f"{seconds} s", "renews what falls due on it")
        else:
            self.routes.advance_clock(seconds)
            self.made("advanced the sandbox clock", f"{seconds} s", "renews what falls due, for everyone on it")

    def invoice(self, *, pay: bool = False) -> Any:
        price = self.price()
        customer = self.customer()
        invoice = self.routes.create_invoice(customer.id, price.id, pay=pay)
        self.made("created invoice", invoice["id"], f"{invoice['status']}{', charged at once' if pay else ''}")
        return invoice

    @contextmanager
    def declining(self, customer_id: str) -> Iterator[None]:
        """The sandbox declines the customer's payments inside the block, and accepts them again after it."""
        self.routes.fail_payments(customer_id, True)
        self.made("declining payments of", customer_id)
        try:
            yield
        finally:
            self.routes.fail_payments(customer_id, False)
            self.made("accepting payments of", customer_id, "again")

    def coupon(self) -> Any:
        coupon = self.client.coupons.create(name=self.name, duration="once", percent_off=10).coupon
        self.made("created coupon", coupon.id, "10% off, once")
        return coupon

    def promotion_code(self) -> Any:
        promo = self.client.promotion_codes.create(coupon_id=self.coupon().id)
        self.made("created promotion code", promo.id, promo.code)
        return promo

    def payment_link(self) -> Any:
        link = self.client.payment_links.create(
            name=self.name, line_items=[{"price_id": self.price().id, "quantity": 1}]
        )
        self.made("created payment link", link.id, link.name)
        return link

    def meter(self) -> Any:
        meter = self.client.meters.create(
            name=self.name, event_name=f"trigger_{self.tag}", aggregation_method="sum", unit="calls"
        )
        self.made("created meter", meter.id, f"event {meter.event_name}, credit currency {meter.currency_id}")
        return meter

    def grant(self, meter: Any, customer: Any) -> Any:
        grant = self.client.credit_grants.create(
            customer_id=customer.id, amount="10", currency_id=meter.currency_id, category="promotional", name=self.name
        )
        self.made("created credit grant", grant.id, f"10 {meter.unit} for {customer.id}")
        return grant

    def usage(self, meter: Any, customer: Any, value: str) -> Any:
        event = self.client.meter_events.create(
            event_name=meter.event_name,
            payload={"customer_id": customer.id, "value": value},
            identifier=f"trigger_{self.tag}_{secrets.token_hex(4)}",
        )
        self.made("reported meter event", event.id, f"{value} {meter.unit}")
        return event


def _paid_checkout(s: Scenario) -> None:
    s.checkout()


def _open_checkout(s: Scenario) -> None:
    s.checkout(pay=False)


def _nft_checkout(s: Scenario) -> None:
    s.checkout(nft=True)


def _expired_checkout(s: Scenario) -> None:
    session = s.checkout(pay=False)
    s.client.checkout.sessions.expire(session.id)
    s.made("expired checkout session", session.id)


def _refunded_checkout(s: Scenario) -> None:
    paid = s.checkout()
    refund = s.client.refunds.create(payment_intent_id=paid["payment_intent_id"], amount="1")
    s.made("refunded payment intent", paid["payment_intent_id"], f"refund {refund.id}, {refund.status}")


@dataclass(frozen=True)
class Lifecycle:
    """The created / updated / deleted events of one kind of object: each recipe makes one with the
    Scenario step `make`, then changes it with `change` or deletes it."""

    kind: str  # as printed: "promotion code"
    namespace: str  # the client's: "promotion_codes"
    make: Callable[[Scenario], Any]
    change: Callable[[Scenario], dict[str, Any]]

    def created(self, s: Scenario) -> None:
        self.make(s)

    def updated(self, s: Scenario) -> None:
        made, change = self.make(s), self.change(s)
        getattr(s.client, self.namespace).update(made.id, **change)
        s.made(f"updated {self.kind}", made.id, ", ".join(change))

    def deleted(self, s: Scenario) -> None:
        made = self.make(s)
        getattr(s.client, self.namespace).delete(made.id)
        s.made(f"deleted {self.kind}", made.id)


def _described(s: Scenario) -> dict[str, Any]:
    return {"description": "made by payment-kit trigger"}


_CUSTOMER = Lifecycle("customer", "customers", Scenario.customer, lambda s: {"name": s.name})
_PRODUCT = Lifecycle("product", "products", Scenario.product, _described)
_PRICE = Lifecycle("price", "prices", lambda s: s.price(), lambda s: {"nickname": s.name})
_COUPON = Lifecycle("coupon", "coupons", Scenario.coupon, _described)
_PROMOTION_CODE = Lifecycle("promotion code", "promotion_codes", Scenario.promotion_code, _described)
_PAYMENT_LINK = Lifecycle(
    "payment link", "payment_links", Scenario.payment_link, lambda s: {"name": f"{s.name} (renamed)"}
)


def _new_subscription(s: Scenario) -> None:
    s.subscription()


def _trial_subscription(s: Scenario) -> None:
    s.subscription(trial_period_days=7)


def _updated_subscription(s: Scenario) -> None:
    subscription = s.subscription()
    s.client.subscriptions.update(subscription.id, metadata={"triggered_by": "payment-kit trigger"})
    s.made("updated subscription", subscription.id, "metadata.triggered_by")


def _paused_subscription(s: Scenario) -> None:
    subscription = s.subscription()
    s.client.subscriptions.pause(subscription.id)
    s.made("paused subscription", subscription.id)


def _resumed_subscription(s: Scenario) -> None:
    subscription = s.subscription()
    s.client.subscriptions.pause(subscription.id)
    s.made("paused subscription", subscription.id)
    s.client.subscriptions.resume(subscription.id)
    s.made("resumed subscription", subscription.id)


def _recovered_subscription(s: Scenario) -> None:
    subscription = s.subscription()
    s.client.subscriptions.cancel(subscription.id, at="current_period_end")
    s.made("scheduled the cancellation of subscription", subscription.id, "at the period's end")
    s.client.subscriptions.recover(subscription.id)
    s.made("recovered subscription", subscription.id, "no longer canceling")


def _canceled_subscription(s: Scenario) -> None:
    subscription = s.subscription()
    s.client.subscriptions.cancel(subscription.id, at="now")
    s.made("canceled subscription", subscription.id, "at=now")


def _renewed_subscription(s: Scenario) -> None:
    s.on_test_clock()
    s.renew(s.renewing_soon())


def _ended_trial(s: Scenario) -> None:
    s.on_test_clock()
    s.renew(s.subscription(trial_end=s.now() + 60))


def _failed_renewal(s: Scenario) -> None:
    s.on_test_clock()
    subscription = s.renewing_soon()
    with s.declining(subscription.customer_id):
        s.renew(subscription)


def _open_invoice(s: Scenario) -> None:
    s.invoice()


def _paid_invoice(s: Scenario) -> None:
    s.invoice(pay=True)


def _declined_invoice(s: Scenario) -> None:
    price = s.price()
    customer = s.customer()
    with s.declining(customer.id):
        invoice = s.routes.create_invoice(customer.id, price.id, pay=True)
        s.made("created invoice", invoice["id"], f"{invoice['status']}, its charge declined")


def _updated_invoice(s: Scenario) -> None:
    invoice = s.invoice()
    s.client.invoices.update(invoice["id"], metadata={"triggered_by": "payment-kit trigger"})
    s.made("updated invoice", invoice["id"], "metadata.triggered_by")


def _voided_invoice(s: Scenario) -> None:
    invoice = s.invoice()
    s.client.invoices.void(invoice["id"])
    s.made("voided invoice", invoice["id"], f"canceling payment intent {invoice['payment_intent_id']}")


def _granted_credit(s: Scenario) -> None:
    s.grant(s.meter(), s.customer())


def _depleted_credit(s: Scenario) -> None:
    meter, customer = s.meter(), s.customer()
    s.grant(meter, customer)
    s.usage(meter, customer, "10")


def _low_credit(s: Scenario) -> None:
    meter, customer = s.meter(), s.customer()
    config = s.client.auto_recharge_configs.submit(
        customer_id=customer.id, currency_id=meter.currency_id, threshold=5, enabled=False
    )
    s.made("set auto-recharge config", config.id, f"low-balance threshold 5 {meter.unit}, recharging off")
    s.grant(meter, customer)
    s.usage(meter, customer, "6")


def _insufficient_credit(s: Scenario) -> None:
    s.usage(s.meter(), s.customer(), "1")


@dataclass(frozen=True)
class Recipe:
    does: str  # for --help: what it makes happen
    run: Callable[[Scenario], None]


_PAID = Recipe("pays a one-time checkout (product, price, customer, session)", _paid_checkout)
_SUBSCRIBED = Recipe("pays a subscription checkout (hourly price)", _new_subscription)
_FAILED_RENEWAL = Recipe(
    "subscribes (first period a minute long), declines the customer's payments, moves a test clock of its own a "
    "minute so it renews (and fails), accepts payments again",
    _failed_renewal,
)
_OPEN_INVOICE = Recipe("raises a one-off invoice, left open (created and finalized at once)", _open_invoice)
_PAID_INVOICE = Recipe("raises a one-off invoice and charges it at once", _paid_invoice)
_DECLINED_INVOICE = Recipe(
    "raises a one-off invoice and charges it while the customer's payments are declined", _declined_invoice
)
_VOIDED_INVOICE = Recipe("raises a one-off invoice and voids it, canceling the payment it waited on", _voided_invoice)
_REFUNDED = Recipe("pays a one-time checkout, then refunds it in full", _refunded_checkout)

RECIPES: dict[str, Recipe] = {
    "checkout.session.created": Recipe("opens a checkout session, left unpaid", _open_checkout),
    "checkout.session.completed": _PAID,
    "checkout.session.nft_minted": Recipe("pays a one-time checkout that mints an NFT", _nft_checkout),
    "checkout.session.expired": Recipe("opens a checkout session and expires it", _expired_checkout),
    "coupon.created": Recipe("creates a coupon (10% off, once)", _COUPON.created),
    "coupon.updated": Recipe("creates a coupon, then changes its description", _COUPON.updated),
    "coupon.deleted": Recipe("creates a coupon, then deletes it", _COUPON.deleted),
    "customer.created": Recipe("creates a customer (a new DID)", _CUSTOMER.created),
    "customer.updated": Recipe("creates a customer, then changes its name", _CUSTOMER.updated),
    "customer.deleted": Recipe("creates a customer, then deletes it", _CUSTOMER.deleted),
    "customer.credit_grant.granted": Recipe("grants a customer credit on a new meter", _granted_credit),
    "customer.credit_grant.depleted": Recipe("grants 10 credits, then reports 10 calls of usage", _depleted_credit),
    "customer.credit.insufficient": Recipe("reports usage on a new meter with no credit granted", _insufficient_credit),
    "customer.credit.low_balance": Recipe(
        "sets a low-balance threshold of 5 (auto-recharge off), grants 10 credits, reports 6 calls of usage",
        _low_credit,
    ),
    "customer.subscription.created": _SUBSCRIBED,
    "customer.subscription.started": _SUBSCRIBED,
    "customer.subscription.trial_start": Recipe(
        "pays a subscription checkout with a 7-day free trial (hourly price)", _trial_subscription
    ),
    "customer.subscription.trial_end": Recipe(
        "subscribes with a one-minute free trial, moves a test clock of its own a minute so it ends", _ended_trial
    ),
    "customer.subscription.updated": Recipe(
        "subscribes, then changes the subscription's metadata", _updated_subscription
    ),
    "customer.subscription.paused": Recipe("subscribes, then pauses the subscription", _paused_subscription),
    "customer.subscription.resumed": Recipe("subscribes, pauses, then resumes the subscription", _resumed_subscription),
    "customer.subscription.recovered": Recipe(
        "subscribes, schedules a cancellation at the period's end, then recovers the subscription",
        _recovered_subscription,
    ),
    "customer.subscription.deleted": Recipe("subscribes, then cancels at once", _canceled_subscription),
    "customer.subscription.renewed": Recipe(
        "subscribes (first period a minute long), moves a test clock of its own a minute so it renews",
        _renewed_subscription,
    ),
    "customer.subscription.renew_failed": _FAILED_RENEWAL,
    "customer.subscription.past_due": _FAILED_RENEWAL,
    "invoice.created": _OPEN_INVOICE,
    "invoice.finalized": _OPEN_INVOICE,
    "invoice.updated": Recipe("raises a one-off invoice, then changes its metadata", _updated_invoice),
    "invoice.paid": _PAID_INVOICE,
    "invoice.payment_succeeded": _PAID_INVOICE,
    "invoice.payment_failed": _DECLINED_INVOICE,
    "invoice.voided": _VOIDED_INVOICE,
    "payment_intent.created": _PAID,
    "payment_intent.succeeded": _PAID,
    "payment_intent.payment_failed": _DECLINED_INVOICE,
    "payment_intent.canceled": _VOIDED_INVOICE,
    "payment_link.created": Recipe("creates a payment link for a one-time price", _PAYMENT_LINK.created),
    "payment_link.updated": Recipe("creates a payment link, then renames it", _PAYMENT_LINK.updated),
    "price.created": Recipe("creates a product and a one-time price", _PRICE.created),
    "price.updated": Recipe("creates a one-time price, then changes its nickname", _PRICE.updated),
    "price.deleted": Recipe("creates a one-time price, then deletes it", _PRICE.deleted),
    "product.created": Recipe("creates a product", _PRODUCT.created),
    "product.updated": Recipe("creates a product, then changes its description", _PRODUCT.updated),
    "product.deleted": Recipe("creates a product, then deletes it", _PRODUCT.deleted),
    "promotion_code.created": Recipe("creates a coupon and a promotion code for it", _PROMOTION_CODE.created),
    "promotion_code.updated": Recipe(
        "creates a coupon and a promotion code, then changes the code's description", _PROMOTION_CODE.updated
    ),
    "refund.created": _REFUNDED,
    "refund.succeeded": _REFUNDED,
}

# Types in the document that no sandbox rule raises, and why (a recipe needs a rule to drive): none
# today, as the document lists exactly the types the sandbox emits.
NOT_PRODUCED: dict[str, str] = {}


def add_trigger_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    formatter: type[argparse.HelpFormatter],
    *,
    list_types: bool,
) -> None:
    """`list_types`: read the document to list the event types in --help (only when the command
    line is a trigger's, since reading the document takes a moment)."""
    trigger = commands.add_parser(
        "trigger",
        help="make webhook events happen on a sandbox (its --help lists the types)",
        description=(
            "Makes each event happen for real on a sandbox: creates what it needs through the API and "
            "drives the sandbox (pays a checkout, moves its clock), then checks the sandbox recorded the "
            "event. Prints what it created. Endpoints subscribed to the type get the event, so run "
            "`payment-kit listen --forward-to URL` in another terminal to watch it arrive. Needs the "
            "sandbox extra: pip install 'blocklet-payment-kit[sandbox]'.\n\n"
            "Example: payment-kit trigger checkout.session.completed invoice.paid --test"
        ),
        epilog=_types_help() if list_types else "payment-kit trigger --help lists the event types.",
        formatter_class=formatter,
    )
    trigger.add_argument("types", nargs="+", metavar="EVENT_TYPE", help="one or more event types (see below)")
    add_connection_options(trigger)
    trigger.set_defaults(run=_trigger)


def _types_help() -> str:
    try:
        types = document_event_types()
    except CommandError as exc:
        return f"The event types are read from the OpenAPI document: {exc}"
    # Sorted, so that a resource's types sit together whatever order the document gives them.
    types = sorted(types)
    width = max(len(t) for t in types) + 2

    def row(name: str, text: str) -> str:
        return textwrap.fill(
            text, HELP_COLUMNS, initial_indent=f"  {name:<{width}}", subsequent_indent=" " * (width + 2)
        )

    lines = ["Event types (the OpenAPI document's x-webhooks):"]
    lines += [row(t, RECIPES[t].does) for t in types if t in RECIPES]
    unproduced = [t for t in types if t in NOT_PRODUCED]
    if unproduced:
        lines += ["", "Documented, but the sandbox never raises them:"]
        lines += [row(t, NOT_PRODUCED[t]) for t in unproduced]
    unknown = [t for t in types if t not in RECIPES and t not in NOT_PRODUCED]
    if unknown:
        lines += ["", "Documented, with no recipe in this version of payment-kit yet:"]
        lines += [f"  {t}" for t in unknown]
    return "\n".join(lines)


def _trigger(args: argparse.Namespace) -> int:
    documented = document_event_types()
    for name in args.types:
        if name not in documented:
            raise CommandError(f"{name} is not an event type of the API; see payment-kit trigger --help")
        if name in NOT_PRODUCED:
            raise CommandError(f"{name} cannot be triggered: {NOT_PRODUCED[name]}")
        if name not in RECIPES:
            raise CommandError(f"{name} has no recipe in this version of payment-kit")
    with client_from(args) as client:
        routes = SandboxRoutes(client)
        routes.require_sandbox("payment-kit trigger")
        for name in args.types:
            sys.stdout.write(f"{name}: {RECIPES[name].does}\n")
            newest = routes.events(type=name, limit=1)["list"]
            before = newest[0]["id"] if newest else None
            RECIPES[name].run(Scenario(client, routes))
            raised = []
            for event in routes.events(type=name, limit=100)["list"]:
                if event["id"] == before:
                    break
                raised.append(event)
            if not raised:
                raise CommandError(
                    f"the sandbox recorded no {name} event: the recipe no longer raises it", EXIT_API_ERROR
                )
            for event in reversed(raised):
                obj = (event.get("data") or {}).get("object") or {}
                sys.stdout.write(f"  event {event['id']}  {name}  {obj.get('id', '')}\n")
            sys.stdout.flush()
    return 0
