"""The connection options every command takes, read exactly as the SDK reads them: a flag wins,
else the SDK's own environment variables (`PaymentKit()` reads them), else the SDK's defaults."""

from __future__ import annotations

import argparse
import os

from .._client import PaymentKit
from ._output import EXIT_CONNECTION, CommandError

__all__ = ["TEST_CLOCK_HEADER", "add_connection_options", "client_from"]

TEST_CLOCK_HEADER = "X-Sandbox-Test-Clock"  # the sandbox's (payment_kit_sandbox.control), not PaymentKit's


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """The options on `parser`; values left out stay out of the namespace (argparse.SUPPRESS), so
    the same options on a parent and a subcommand never overwrite each other."""
    group = parser.add_argument_group("connection (flags win over PAYMENT_KIT_* / PAYMENT_* variables)")
    group.add_argument(
        "--base-url",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="PaymentKit's root URL, e.g. https://app.example.com/payment (default: $PAYMENT_KIT_BASE_URL)",
    )
    group.add_argument(
        "--api-key",
        metavar="KEY",
        default=argparse.SUPPRESS,
        help="sent as Authorization: Bearer KEY (default: $PAYMENT_KIT_API_KEY)",
    )
    mode = group.add_mutually_exclusive_group()
    mode.add_argument(
        "--test",
        dest="livemode",
        action="store_const",
        const=False,
        default=argparse.SUPPRESS,
        help="test-mode data (default: $PAYMENT_LIVEMODE / $PAYMENT_LIVE_MODE / $PAYMENT_TEST_MODE, else live)",
    )
    mode.add_argument(
        "--live", dest="livemode", action="store_const", const=True, default=argparse.SUPPRESS, help="live-mode data"
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_positive_seconds,
        default=argparse.SUPPRESS,
        help="each attempt's deadline in seconds (default 30)",
    )
    group.add_argument(
        "--max-retries",
        metavar="N",
        type=_retries,
        default=argparse.SUPPRESS,
        help="retries of connection errors, timeouts, 408, 409, 429 and 5xx (default 2)",
    )
    group.add_argument(
        "--test-clock",
        metavar="ID",
        default=argparse.SUPPRESS,
        help="a sandbox's test clock (clock_...): the request works at its time, and what it makes belongs to it "
        "(sent as X-Sandbox-Test-Clock; default: $PAYMENT_KIT_TEST_CLOCK)",
    )


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    return value


def _retries(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number, 0 or more, not {text!r}")
    return int(text)


def client_from(args: argparse.Namespace) -> PaymentKit:
    """The client the options describe; a `ConfigurationError` names what is wrong with them."""
    if getattr(args, "base_url", None) is None and not os.environ.get("PAYMENT_KIT_BASE_URL"):
        raise CommandError(
            "no PaymentKit base URL: pass --base-url URL or set PAYMENT_KIT_BASE_URL "
            "(`payment-kit sandbox` prints a local sandbox's)",
            EXIT_CONNECTION,
        )
    clock = getattr(args, "test_clock", None) or os.environ.get("PAYMENT_KIT_TEST_CLOCK")
    return PaymentKit(
        base_url=getattr(args, "base_url", None),
        api_key=getattr(args, "api_key", None),
        livemode=getattr(args, "livemode", None),
        timeout=getattr(args, "timeout", None),
        max_retries=getattr(args, "max_retries", None),
        default_headers={TEST_CLOCK_HEADER: clock} if clock else None,
    )
