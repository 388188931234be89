"""`payment-kit events list|resend` (a sandbox's events: PaymentKit publishes no route to list
them) and `payment-kit open ID` (the hosted page of a checkout session or payment link)."""

from __future__ import annotations

import argparse
import sys
import webbrowser
from urllib.parse import quote

from ._connection import add_connection_options, client_from
from ._output import EXIT_API_ERROR, CommandError, print_json
from ._sandbox_routes import SandboxRoutes

__all__ = ["add_event_commands", "add_open_command"]


def add_event_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], formatter: type[argparse.HelpFormatter]
) -> None:
    events = commands.add_parser(
        "events",
        help="a sandbox's events: list, resend",
        description="The events a sandbox recorded, as its webhook deliveries carry them (sandbox only).",
        formatter_class=formatter,
    )
    below = events.add_subparsers(title="commands", metavar="<command>", required=True)
    listing = below.add_parser(
        "list",
        help="the newest events first, optionally of one type",
        description="The sandbox's events of this mode, newest first, as {count, list} "
        "(GET /sandbox/events). Example: payment-kit events list --type invoice.paid --limit 5",
        formatter_class=formatter,
    )
    listing.add_argument("--type", help="only events of this type, e.g. checkout.session.completed")
    listing.add_argument("--limit", type=_limit, help="how many, 1 to 100 (default 100)")
    add_connection_options(listing)
    listing.set_defaults(run=_list_events)
    resend = below.add_parser(
        "resend",
        help="deliver an event again",
        description="Queues an event again for every enabled endpoint subscribed to its type, or only for "
        "--webhook-endpoint; each delivery is signed afresh (POST /sandbox/events/{id}/resend). "
        "Answers what was queued.",
        formatter_class=formatter,
    )
    resend.add_argument("id", metavar="ID", help="the event (evt_...)")
    resend.add_argument("--webhook-endpoint", metavar="ID", help="only this endpoint (we_...)")
    add_connection_options(resend)
    resend.set_defaults(run=_resend_event)


def _limit(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 100, not {text!r}")
    return int(text)


def _list_events(args: argparse.Namespace) -> int:
    with client_from(args) as client:
        routes = SandboxRoutes(client)
        routes.require_sandbox("payment-kit events")
        print_json(routes.events(type=args.type, limit=args.limit))
    return 0


def _resend_event(args: argparse.Namespace) -> int:
    with client_from(args) as client:
        routes = SandboxRoutes(client)
        routes.require_sandbox("payment-kit events")
        print_json(routes.resend_event(args.id, args.webhook_endpoint))
    return 0


def add_open_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], formatter: type[argparse.HelpFormatter]
) -> None:
    opening = commands.add_parser(
        "open",
        help="the hosted page of a checkout session or payment link",
        description="Prints the URL of the page where a customer pays: a checkout session's `url`, or a "
        "payment link's page (<base URL>/checkout/pay/<plink_id>). At a terminal it also opens it in "
        "the browser. Example: payment-kit open cs_...",
        formatter_class=formatter,
    )
    opening.add_argument(
        "id", metavar="ID", help="a checkout session (cs_...) or a payment link (plink_... or its lookup key)"
    )
    opening.add_argument("--no-browser", action="store_true", help="only print the URL")
    add_connection_options(opening)
    opening.set_defaults(run=_open)


def _open(args: argparse.Namespace) -> int:
    with client_from(args) as client:
        if args.id.startswith("cs_"):
            url = client.checkout.sessions.retrieve(args.id).url
            if not url:
                raise CommandError(f"checkout session {args.id} has no hosted page (its url is empty)", EXIT_API_ERROR)
        else:
            link = client.payment_links.retrieve(args.id)
            url = f"{client.base_url}/checkout/pay/{quote(link.id, safe='')}"
    sys.stdout.write(f"{url}\n")
    sys.stdout.flush()
    if not args.no_browser and sys.stdout.isatty():
        webbrowser.open(url)
    return 0
