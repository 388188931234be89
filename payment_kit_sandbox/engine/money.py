"""Money as PaymentKit keeps it: requests carry human decimal strings
(`"0.001"`), storage and answers carry integer strings in the currency's
smallest unit (`"1000000000000000"` for 18 decimals). Exact: Decimal and
int only, never float, and never rounded: an amount the sandbox cannot hold
exactly is refused, never stored as a nearby one.

Decimal's default context keeps 28 significant digits, so `Decimal` arithmetic
(`scaleb`, `+`, `*`) silently rounds longer amounts. Conversions here are integer
arithmetic on the digits as sent; the arithmetic elsewhere that mixes amounts with
fractions (percentages, fractional usage) runs in `exact_arithmetic()`.

The sandbox's own limits (README, "The sandbox refuses"): an amount is at most
`MAX_AMOUNT_DIGITS` digits, and at most `MAX_UNITS` in the currency's smallest unit.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from decimal import Decimal, localcontext
from fractions import Fraction

from ..refusals import bad_request

__all__ = [
    "MAX_AMOUNT_DIGITS",
    "MAX_UNITS",
    "checked_total",
    "exact_arithmetic",
    "from_units",
    "plain_amount",
    "round_half_up",
    "to_units",
    "units",
]

MAX_UNITS = 2**256 - 1
"""The largest amount in a currency's smallest unit: what an on-chain token amount (uint256) holds,
and so the most any payment in PaymentKit's currencies can move."""
MAX_AMOUNT_DIGITS = 80
"""Digits in a request's amount, integer and fraction together: every amount within `MAX_UNITS`
(78 digits) fits, with room for a trailing zero or two; longer text is refused before any arithmetic."""

_DECIMAL = re.compile(r"([0-9]+)(?:\.([0-9]+))?")
_ARITHMETIC_DIGITS = 400
"""Precision for `exact_arithmetic`: the product of an amount (78 digits) and a quantity or ratio
(a JSON number's 17, a percentage's few) needs far fewer, so nothing it computes is rounded."""


def _digits(amount: str | int | float, field: str) -> tuple[int, int]:
    """An amount as `(coefficient, exponent)` with `amount == coefficient × 10**exponent`, exactly as sent.

    A string must be a plain non-negative decimal (`"12"`, `"0.5"`) matched whole: no sign, exponent,
    spaces, underscores or trailing newline, which `Decimal()` and a `$`-anchored pattern let through.
    A JSON number (an int, or a float as its shortest text, which is what the client sent) is taken too."""
    if isinstance(amount, bool) or not isinstance(amount, str | int | float):
        raise bad_request(f"{field}: {amount!r} is not a decimal amount")
    if isinstance(amount, float):
        if amount != amount or amount in (float("inf"), float("-inf")):
            raise bad_request(f"{field}: {amount!r} is not a decimal amount")
        amount = format(Decimal(repr(amount)), "f")  # exact: the constructor never rounds
    text = str(amount)
    match = _DECIMAL.fullmatch(text)
    if match is None:
        shown = text if len(text) <= 40 else f"{text[:40]}… ({len(text)} characters)"
        raise bad_request(f"{field}: {shown!r} is not a non-negative amount (digits, optionally a point and more)")
    whole, fraction = match.group(1), match.group(2) or ""
    if len(whole) + len(fraction) > MAX_AMOUNT_DIGITS:
        raise bad_request(
            f"{field}: {len(whole) + len(fraction)} digits is over the sandbox's limit of {MAX_AMOUNT_DIGITS}"
            " for an amount"
        )
    return int(whole + fraction), -len(fraction)


def to_units(amount: str | int | float, decimal: int, field: str) -> str:
    """`"0.001"` with 18 decimals → `"1000000000000000"`; refuses what it cannot represent exactly."""
    coefficient, exponent = _digits(amount, field)
    shift = exponent + decimal
    if shift >= 0:
        value = coefficient * 10**shift
    else:
        value, rest = divmod(coefficient, 10**-shift)
        if rest:
            raise bad_request(f"{field}: {amount} has more than {decimal} decimal places for this currency")
    return str(checked_total(value, field, f" ({amount} with {decimal} decimal places)"))


def checked_total(value: int, field: str, what: str = "") -> int:
    """`value` (integer units) if the sandbox can hold it; a 400 naming `field` if it is over `MAX_UNITS`."""
    if value > MAX_UNITS:
        raise bad_request(
            f"{field}: the amount{what} is over the sandbox's limit of 2^256 - 1 in the currency's smallest unit"
        )
    return value


def from_units(units_: str | int, decimal: int) -> str:
    """`"1000000000000000"` with 18 decimals → `"0.001"` (no trailing zeros): the digits moved, never rounded."""
    value = int(units_)
    sign, digits = ("-" if value < 0 else ""), str(abs(value)).rjust(decimal + 1, "0")
    whole, fraction = (digits[:-decimal], digits[-decimal:].rstrip("0")) if decimal else (digits, "")
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}" if value else "0"


def plain_amount(amount: str | int | float, field: str) -> str:
    """A decimal amount (a string, or a JSON number) as plain decimal text, exactly: `1e-07` → `"0.0000001"`."""
    coefficient, exponent = _digits(amount, field)
    return from_units(coefficient, -exponent)


def units(value: str | int | None) -> int:
    """An integer-unit string as an int (absent means 0)."""
    return int(value) if value not in (None, "") else 0


def exact_arithmetic() -> AbstractContextManager[object]:
    """A decimal context in which amount arithmetic is exact (see `_ARITHMETIC_DIGITS`); leaving it
    restores the caller's."""
    return localcontext(prec=_ARITHMETIC_DIGITS)


def round_half_up(value: Fraction | Decimal) -> int:
    """The nearest whole number, halves away from zero (amounts here are non-negative)."""
    fraction = Fraction(value)
    whole, rest = divmod(fraction.numerator, fraction.denominator)
    return whole + (1 if 2 * rest >= fraction.denominator else 0)
