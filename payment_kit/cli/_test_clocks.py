"""`payment-kit test-clocks create|retrieve|list|delete|advance`: a sandbox's test clocks
(`/sandbox/test-clocks`, openapi/sandbox.yaml), time that moves only for the objects made on it.
Their names are SandboxControl's (`create_test_clock`, …) and the sandbox's routes'."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from ._connection import add_connection_options, client_from
from ._output import print_json
from ._sandbox_routes import SandboxRoutes

__all__ = ["add_test_clock_commands"]

COMMAND = "payment-kit test-clocks"


def add_test_clock_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], formatter: type[argparse.HelpFormatter]
) -> None:
    clocks = commands.add_parser(
        "test-clocks",
        help="a sandbox's test clocks: create, retrieve, list, delete, advance",
        description="Test clocks (sandbox only): a request sent with the header X-Sandbox-Test-Clock: <id> works "
        "at the clock's time, and what it makes (a customer, then its subscriptions, invoices, usage, credit) "
        "moves only when that clock advances; nobody else's objects move. Example: payment-kit test-clocks "
        "create --name ci-42, then payment-kit test-clocks advance clock_... --days 32",
        formatter_class=formatter,
    )
    below = clocks.add_subparsers(title="commands", metavar="<command>", required=True)

    def command(
        name: str, help: str, run: Callable[[SandboxRoutes, argparse.Namespace], Any]
    ) -> argparse.ArgumentParser:
        parser = below.add_parser(
            name, help=help, description=f"{help[0].upper()}{help[1:]}.", formatter_class=formatter
        )
        add_connection_options(parser)
        parser.set_defaults(run=lambda args: _answer(args, run))
        return parser

    create = command("create", "a new clock, standing at --frozen-time (default now)", _create)
    create.add_argument("--frozen-time", type=int, metavar="UNIX", help="the clock's time, Unix seconds")
    create.add_argument("--name", help="a label, e.g. the pipeline's name")
    retrieve = command("retrieve", "one clock", lambda routes, args: routes.call("GET", _path(args.id)))
    listing = command("list", "the clocks, newest first", _list)
    listing.add_argument("--limit", type=int, help="how many, 1 to 100 (default 100)")
    delete = command(
        "delete",
        "delete a clock (its objects stay, frozen)",
        lambda routes, args: routes.call("DELETE", _path(args.id)),
    )
    advance = command("advance", "move a clock forward: what falls due for its objects happens", _advance)
    for parser in (retrieve, delete, advance):
        parser.add_argument("id", metavar="ID", help="the clock (clock_...)")
    how = advance.add_mutually_exclusive_group(required=True)
    how.add_argument("--days", type=int, help="by this many days")
    how.add_argument("--seconds", type=int, help="by this many seconds")
    how.add_argument("--to", type=int, metavar="UNIX", help="to this later time, Unix seconds")


def _path(clock_id: str) -> str:
    return f"/sandbox/test-clocks/{quote(clock_id, safe='')}"


def _answer(args: argparse.Namespace, run: Callable[[SandboxRoutes, argparse.Namespace], Any]) -> int:
    with client_from(args) as client:
        routes = SandboxRoutes(client)
        routes.require_sandbox(COMMAND)
        print_json(run(routes, args))
    return 0


def _create(routes: SandboxRoutes, args: argparse.Namespace) -> Any:
    body = {k: v for k, v in (("frozen_time", args.frozen_time), ("name", args.name)) if v is not None}
    return routes.call("POST", "/sandbox/test-clocks", body=body)


def _list(routes: SandboxRoutes, args: argparse.Namespace) -> Any:
    return routes.call("GET", "/sandbox/test-clocks", query={"limit": args.limit} if args.limit else None)


def _advance(routes: SandboxRoutes, args: argparse.Namespace) -> Any:
    body = {k: v for k, v in (("days", args.days), ("seconds", args.seconds), ("to", args.to)) if v is not None}
    return routes.call("POST", f"{_path(args.id)}/advance", body=body)
