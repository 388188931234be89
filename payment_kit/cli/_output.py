"""What `payment-kit` prints, and how it ends: JSON on stdout, problems on stderr, one exit code
for each kind of failure."""

from __future__ import annotations

import json
import sys
from http import HTTPStatus
from typing import Any, TextIO

from .._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    ConfigurationError,
    PaymentKitError,
)

__all__ = [
    "EXIT_API_ERROR",
    "EXIT_CONNECTION",
    "EXIT_OK",
    "EXIT_USAGE",
    "CommandError",
    "exit_code_of",
    "print_json",
    "print_json_line",
    "say",
]

EXIT_OK = 0
# The server answered, with an error status or with an answer that is not what the document says.
EXIT_API_ERROR = 1
# The command line itself: an unknown command or option, a value that cannot be read (argparse's own code).
EXIT_USAGE = 2
# Nothing useful reached a server: it could not be reached or timed out, the base URL or key is
# missing or malformed, the target is no sandbox where one is needed, or an extra is not installed.
EXIT_CONNECTION = 3


class CommandError(Exception):
    """A problem a command reports on stderr before ending with `exit_code`."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def print_json(data: Any, stream: TextIO | None = None) -> None:
    """One answer: indented for a person at a terminal, compact on one line for a pipe or a file."""
    out = stream or sys.stdout
    if out.isatty():
        out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        out.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")
    out.flush()


def print_json_line(data: Any) -> None:
    """One object of a walk (`--all`): always one compact line, so each line is a JSON document."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def say(message: str) -> None:
    """A line for the person at the terminal (stderr, so stdout stays JSON)."""
    sys.stderr.write(f"payment-kit: {message}\n")
    sys.stderr.flush()


def exit_code_of(exc: BaseException) -> int:
    """Reports a failure on stderr and answers the exit code it ends with."""
    if isinstance(exc, CommandError):
        say(str(exc))
        return exc.exit_code
    if isinstance(exc, APIStatusError):
        say(_status_line(exc))
        return EXIT_API_ERROR
    if isinstance(exc, APIResponseValidationError):
        say(str(exc))
        return EXIT_API_ERROR
    if isinstance(exc, APIConnectionError):
        url = exc.request.url
        say(f"{exc} (server {url.scheme}://{url.netloc.decode('ascii', 'replace')})")
        return EXIT_CONNECTION
    if isinstance(exc, ConfigurationError):
        say(str(exc))
        return EXIT_CONNECTION
    if isinstance(exc, PaymentKitError):
        say(str(exc))
        return EXIT_API_ERROR
    # The facade refuses arguments it cannot send (an unknown field in a JSON object, a float for money).
    if isinstance(exc, TypeError | ValueError):
        say(str(exc))
        return EXIT_USAGE
    raise exc


def _status_line(exc: APIStatusError) -> str:
    try:
        reason = HTTPStatus(exc.status_code).phrase
    except ValueError:
        reason = "Error"
    message = exc.server_message or exc.message
    line = f"{exc.status_code} {reason}: {message}"
    if exc.request_id:
        line += f" (request {exc.request_id})"
    return line
