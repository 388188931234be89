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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._client import PaymentKit
from ._connection import add_connection_options, client_from
from ._output import EXIT_API_ERROR, EXIT_CONNECTION, CommandError
from ._sandbox_routes import SandboxRoutes

__all__ = ["NOT_PRODUCED", "RECIPES", "add_trigger_command", "document_event_types", "needs_sandbox_extra"]


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

    def made(self, what: str, object_id: str, detail: str = "") -> None:
        sys.stdout.write(f"  {what} {object_id}{f'  ({detail})' if detail else ''}\n")
        sys.stdout.flush()

    def customer(self) -> Any:
        customer = self.client.customers.retrieve(f"did:abt:z{self.tag}trigger", create=True)
        self.made("created customer", customer.id, customer.did)
        return customer

    def price(self, *, recurring: bool = False) -> Any:
        product = self.client.products.create(name=self.name, type="service")
        self.made("created product", product.id, product.name)
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

    def checkout(self, *, recurring: bool = False, nft: bool = False, pay: bool = True) -> Any:
        price = self.price(recurring=recurring)
        customer = self.customer()
        extra: dict[str, Any] = {"nft_mint_settings": {"enabled": True}} if nft else {}
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

    def subscription(self) -> Any:
        paid = self.checkout(recurring=True)
        subscription = self.client.subscriptions.retrieve(paid["subscription_id"])
        self.made("the checkout made subscription", subscription.id, subscription.status)
        return subscription

    def renew(self, subscription: Any) -> None:
        """Moves the sandbox clock to the subscription's next period (an hour at most)."""
        now = int(self.routes.require_sandbox("payment-kit trigger")["now"])
        seconds = max(1, int(subscription.current_period_end) - now + 1)
        self.routes.advance_clock(seconds)
        self.made("advanced the sandbox clock", f"{seconds} s", "renews what falls due, for everyone on it")

    def open_invoice(self) -> Any:
        price = self.price()
        customer = self.customer()
        invoice = self.routes.create_invoice(customer.id, price.id)
        self.made("created invoice", invoice["id"], invoice["status"])
        return invoice

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


def _nft_checkout(s: Scenario) -> None:
    s.checkout(nft=True)


def _expired_checkout(s: Scenario) -> None:
    session = s.checkout(pay=False)
    s.client.checkout.sessions.expire(session.id)
    s.made("expired checkout session", session.id)


def _new_subscription(s: Scenario) -> None:
    s.subscription()


def _updated_subscription(s: Scenario) -> None:
    subscription = s.subscription()
    s.client.subscriptions.update(subscription.id, metadata={"triggered_by": "payment-kit trigger"})
    s.made("updated subscription", subscription.id, "metadata.triggered_by")


def _paused_subscription(s: Scenario) -> None:
    subscription = s.subscription()
    s.client.subscriptions.pause(subscription.id)
    s.made("paused subscription", subscription.id)


def _canceled_subscription(s: Scenario) -> None:
    subscription = s.subscription()
    s.client.subscriptions.cancel(subscription.id, at="now")
    s.made("canceled subscription", subscription.id, "at=now")


def _renewed_subscription(s: Scenario) -> None:
    s.renew(s.subscription())


def _failed_renewal(s: Scenario) -> None:
    subscription = s.subscription()
    s.routes.fail_payments(subscription.customer_id, True)
    s.made("declining payments of", subscription.customer_id)
    try:
        s.renew(subscription)
    finally:
        s.routes.fail_payments(subscription.customer_id, False)
        s.made("accepting payments of", subscription.customer_id, "again")


def _open_invoice(s: Scenario) -> None:
    s.open_invoice()


def _voided_invoice(s: Scenario) -> None:
    invoice = s.open_invoice()
    s.client.invoices.void(invoice["id"])
    s.made("voided invoice", invoice["id"])


def _granted_credit(s: Scenario) -> None:
    s.grant(s.meter(), s.customer())


def _depleted_credit(s: Scenario) -> None:
    meter, customer = s.meter(), s.customer()
    s.grant(meter, customer)
    s.usage(meter, customer, "10")


def _insufficient_credit(s: Scenario) -> None:
    s.usage(s.meter(), s.customer(), "1")


@dataclass(frozen=True)
class Recipe:
    does: str  # for --help: what it makes happen
    run: Callable[[Scenario], None]


_PAID = Recipe("pays a one-time checkout (product, price, customer, session)", _paid_checkout)
_SUBSCRIBED = Recipe("pays a subscription checkout (hourly price)", _new_subscription)
_RENEWED = Recipe("renews a new hourly subscription: moves the sandbox clock up to an hour", _renewed_subscription)

RECIPES: dict[str, Recipe] = {
    "checkout.session.completed": _PAID,
    "checkout.session.nft_minted": Recipe("pays a one-time checkout that mints an NFT", _nft_checkout),
    "checkout.session.expired": Recipe("opens a checkout session and expires it", _expired_checkout),
    "customer.subscription.created": _SUBSCRIBED,
    "customer.subscription.started": _SUBSCRIBED,
    "customer.subscription.updated": Recipe(
        "subscribes, then changes the subscription's metadata", _updated_subscription
    ),
    "customer.subscription.paused": Recipe("subscribes, then pauses the subscription", _paused_subscription),
    "customer.subscription.deleted": Recipe("subscribes, then cancels at once", _canceled_subscription),
    "customer.subscription.renewed": _RENEWED,
    "invoice.created": Recipe("raises a one-off invoice, left open", _open_invoice),
    "invoice.paid": _RENEWED,
    "invoice.payment_failed": Recipe(
        "subscribes, declines the customer's payments, renews (moves the clock), accepts them again", _failed_renewal
    ),
    "invoice.voided": Recipe("raises a one-off invoice and voids it", _voided_invoice),
    "payment_intent.created": _PAID,
    "payment_intent.succeeded": _PAID,
    "customer.credit_grant.granted": Recipe("grants a customer credit on a new meter", _granted_credit),
    "customer.credit_grant.depleted": Recipe("grants 10 credits, then reports 10 calls of usage", _depleted_credit),
    "customer.credit.insufficient": Recipe("reports usage on a new meter with no credit granted", _insufficient_credit),
}

# Types in the document that no sandbox rule raises, and why (a recipe needs a rule to drive).
NOT_PRODUCED: dict[str, str] = {
    "customer.credit.low_balance": "PaymentKit does not publish its low-balance rule; the sandbox never raises it",
}


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
    width = max(len(t) for t in types) + 2
    lines = ["Event types (the OpenAPI document's x-webhooks):"]
    lines += [f"  {t:<{width}}{RECIPES[t].does}" for t in types if t in RECIPES]
    unproduced = [t for t in types if t in NOT_PRODUCED]
    if unproduced:
        lines += ["", "Documented, but the sandbox never raises them:"]
        lines += [f"  {t:<{width}}{NOT_PRODUCED[t]}" for t in unproduced]
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
