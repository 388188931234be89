"""`payment-kit`: the PaymentKit API from a terminal, and a local sandbox to point it at.

    payment-kit <resource> <method> [ID] [--param value ...]   every API operation (generated)
    payment-kit listen --forward-to URL [--events T,...]       a sandbox's webhooks, forwarded
    payment-kit trigger EVENT_TYPE ...                         make events happen on a sandbox
    payment-kit events list|resend, payment-kit open ID        a sandbox's events; hosted pages
    payment-kit test-clocks create|advance|...                 a sandbox's test clocks
    payment-kit sandbox ...                                    run the sandbox (payment_kit_sandbox)

Built on argparse, from the standard library: the base install adds no dependency for the command
line, its commands are generated from the document as data (no decorators to generate), and each
command's help is the document's own text. click or typer would add a dependency (and import time
on every run) for what argparse does here; rich output is not needed for JSON.

Only the resource a command line names has its subcommands built (130 commands' options cost more
than most calls), so `payment-kit products list` starts about as fast as `import payment_kit`.
Exit codes: `_output.EXIT_*` (0 done, 1 API error, 2 usage, 3 connection or configuration).
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

from .._version import __version__
from ._api_commands import add_api_commands, resources
from ._connection import add_connection_options
from ._events import add_event_commands, add_open_command
from ._listen import add_listen_command
from ._output import EXIT_CONNECTION, CommandError, exit_code_of
from ._test_clocks import add_test_clock_commands
from ._trigger import add_trigger_command, needs_sandbox_extra

__all__ = ["build_parser", "main"]

DESCRIPTION = """\
The PaymentKit API from a terminal: every API operation as a command, answers printed as JSON, and \
a local sandbox whose webhooks you can watch (listen) and whose events you can make happen (trigger).

Start here:
  pip install 'blocklet-payment-kit[sandbox]'
  payment-kit sandbox --api-key sk_dev          (serves http://127.0.0.1:8787; leave it running)
  export PAYMENT_KIT_BASE_URL=http://127.0.0.1:8787 PAYMENT_KIT_API_KEY=sk_dev PAYMENT_TEST_MODE=true
  payment-kit products create --name Pro --type service
  payment-kit prices list --page-size 5
  payment-kit listen --forward-to http://127.0.0.1:8000/webhooks    (in one terminal)
  payment-kit trigger checkout.session.completed                   (in another)

Each command has its own --help with the API's description of it and its parameters:
  payment-kit products create --help"""

EPILOG = """\
Output: the answer as JSON on stdout (indented at a terminal, one line when piped); --all on a list \
walks every page, one JSON object a line. Problems go to stderr.

Exit codes:
  0  done
  1  the API answered with an error (its status and message are printed on stderr), or with an
     answer that is not what the API documents
  2  the command line is wrong: an unknown command or option, a value that cannot be read
  3  no server was reached: connection refused, a timeout, a missing or malformed base URL or key,
     a server that is not a sandbox where one is needed, or the sandbox extra not installed

Writes send an Idempotency-Key, the same across a command's retries (--idempotency-key KEY chooses
it). The Python SDK reads the same environment: PAYMENT_KIT_BASE_URL, PAYMENT_KIT_API_KEY, and the
mode from PAYMENT_LIVEMODE, then PAYMENT_LIVE_MODE ("true": live), then PAYMENT_TEST_MODE ("true":
test), else live."""

# Options of the connection group that take a value: skipped when finding the command's first word.
_VALUED = {"--base-url", "--api-key", "--timeout", "--max-retries"}


class HelpFormatter(argparse.HelpFormatter):
    """Wraps each paragraph to the terminal, but keeps indented blocks (examples, tables) as written."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30, width=min(110, shutil.get_terminal_size().columns))

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        blocks = []
        for block in text.split("\n\n"):
            lines = block.split("\n")
            head = textwrap.fill(
                lines[0],
                width,
                initial_indent=indent,
                subsequent_indent=indent,
                break_on_hyphens=False,  # commands and URLs stay whole, to be copied
                break_long_words=False,
            )
            rest = [indent + line for line in lines[1:]]
            blocks.append("\n".join([head, *rest]))
        return "\n\n".join(blocks)


def build_parser(first_word: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; only `first_word`'s subcommands are built in full."""
    parser = argparse.ArgumentParser(
        prog="payment-kit", description=DESCRIPTION, epilog=EPILOG, formatter_class=HelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"payment-kit {__version__}")
    add_connection_options(parser)
    commands = parser.add_subparsers(title="commands", metavar="<command>")
    sandbox = commands.add_parser(
        "sandbox",
        help="run a local PaymentKit sandbox (needs the sandbox extra; payment-kit sandbox --help)",
        add_help=False,
    )
    sandbox.add_argument("rest", nargs=argparse.REMAINDER)
    sandbox.set_defaults(run=lambda args: _sandbox(args.rest))
    add_listen_command(commands, HelpFormatter)
    add_trigger_command(commands, HelpFormatter, list_types=first_word == "trigger")
    add_event_commands(commands, HelpFormatter)
    add_open_command(commands, HelpFormatter)
    add_test_clock_commands(commands, HelpFormatter)
    add_api_commands(commands, HelpFormatter, only=first_word)
    return parser


def _first_word(args: Sequence[str]) -> str | None:
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _VALUED:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def _sandbox(args: list[str]) -> int:
    try:
        sandbox: Any = importlib.import_module("payment_kit_sandbox.__main__")
    except ImportError as exc:
        raise CommandError(needs_sandbox_extra("payment-kit sandbox", exc), EXIT_CONNECTION) from None
    code: int = sandbox.main(args)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command line; answers its exit code (argparse exits itself for --help and usage errors)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args[:1] == ["sandbox"]:  # its own options, parsed by the sandbox
            return _sandbox(args[1:])
        parser = build_parser(_first_word(args))
        if not args:
            parser.print_help()
            return 0
        namespace = parser.parse_args(args)
        run = getattr(namespace, "run", None)
        if run is None:
            parser.error("name a command (payment-kit --help lists them)")
        code: int = run(namespace)
        return code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        return exit_code_of(exc)


def resource_words() -> list[str]:
    """The API resources' command words (for tests and docs)."""
    return sorted(resources())
