"""Exact conversions between PaymentKit's integer units and amounts people read.

PaymentKit answers money as integer strings in a currency's smallest unit
(value × 10^decimal): `unit_amount="1000000000000000"` is 0.001 of an
18-decimal token. Requests take the human decimal (`unit_amount="0.001"`).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = ["format_amount", "from_units", "to_units"]

_INTEGER = re.compile(r"-?[0-9]+")


def _decimal_places(decimal: int) -> int:
    if isinstance(decimal, bool) or not isinstance(decimal, int) or decimal < 0:
        raise ValueError(f"decimal must be a whole number of places (0 or more), not {decimal!r}")
    return decimal


def from_units(units: str | int, decimal: int) -> Decimal:
    """The amount that `units` of the smallest unit make, exactly.

    ``from_units("1000000000000000", 18) == Decimal("0.001")``;
    ``from_units("990", 0) == Decimal("990")`` (never ``9.9E+2``).

    Args:
        units: an integer string as PaymentKit answers (e.g. ``price.unit_amount``,
            a grant's ``remaining_amount``), or an int.
        decimal: the currency's ``decimal`` (its number of decimal places).

    Raises:
        TypeError: for a float (floats cannot hold money exactly) or another type.
        ValueError: when `units` is not an integer.
    """
    places = _decimal_places(decimal)
    if isinstance(units, bool) or not isinstance(units, str | int):
        raise TypeError(f"units must be an integer string or int, not {type(units).__name__}")
    text = str(units).strip()
    if not _INTEGER.fullmatch(text):
        raise ValueError(f"units must be a whole number of the smallest unit, not {units!r}")
    sign = 1 if text.startswith("-") else 0
    digits = text.lstrip("-").lstrip("0")
    # Built from its digits, not by division: exact at any size, whatever the Decimal context.
    exponent = -places
    while exponent < 0 and len(digits) > 1 and digits.endswith("0"):
        digits, exponent = digits[:-1], exponent + 1
    if not digits:
        return Decimal(0)
    return Decimal((sign, tuple(int(d) for d in digits), exponent))


def to_units(amount: str | int | Decimal, decimal: int) -> str:
    """`amount` in the currency's smallest unit, as the integer string PaymentKit stores.

    ``to_units("0.001", 18) == "1000000000000000"``.

    Raises:
        TypeError: for a float, or another type.
        ValueError: when `amount` is not a finite number, or has more decimal
            places than the currency holds (``to_units("0.001", 2)``).
    """
    places = _decimal_places(decimal)
    if isinstance(amount, float):
        raise TypeError("amount is money: pass a decimal string or Decimal, not a float")
    if isinstance(amount, bool) or not isinstance(amount, str | int | Decimal):
        raise TypeError(f"amount must be a decimal string, int or Decimal, not {type(amount).__name__}")
    try:
        value = Decimal(amount.strip()) if isinstance(amount, str) else Decimal(amount)
    except InvalidOperation:
        raise ValueError(f"amount {amount!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"amount {amount!r} is not a finite number")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    shifted = exponent + places
    if shifted < 0:
        dropped = digits[shifted:]
        if any(dropped):
            raise ValueError(
                f"amount {amount!r} has more than {places} decimal places, which this currency cannot hold"
            )
        digits, shifted = digits[:shifted], 0
    number = int("".join(map(str, digits)) or "0") * 10**shifted
    return str(-number if sign else number)


def format_amount(units: str | int, decimal: int, *, min_places: int | None = None) -> str:
    """`units` as a plain decimal string for display, never in exponent notation, never rounded.

    It shows at least `min_places` decimal places (default: the currency's own, up to 2), and more
    when the amount has them: ``format_amount("1000", 2) == "10.00"``, ``format_amount("1050", 2)
    == "10.50"``, ``format_amount("1000000000000000", 18) == "0.001"``, ``format_amount(5 * 10**18,
    18) == "5.00"``. ``min_places=0`` shows no trailing zeros (``"10"``); ``min_places=decimal``
    shows every place the currency has.

    Raises:
        TypeError / ValueError: as `from_units` does; ValueError for a `min_places` outside 0..decimal.
    """
    places = _decimal_places(decimal)
    shown = min(places, 2) if min_places is None else min_places
    if isinstance(shown, bool) or not isinstance(shown, int) or not 0 <= shown <= places:
        raise ValueError(f"min_places must be a whole number from 0 to the currency's {places}, not {min_places!r}")
    text = format(from_units(units, decimal), "f")
    whole, _, fraction = text.partition(".")
    fraction = fraction.ljust(shown, "0")
    return f"{whole}.{fraction}" if fraction else whole
