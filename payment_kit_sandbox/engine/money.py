"""Money as PaymentKit keeps it: requests carry human decimal strings
(`"0.001"`), storage and answers carry integer strings in the currency's
smallest unit (`"1000000000000000"` for 18 decimals). Exact: Decimal and
int only, never float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ..refusals import bad_request

__all__ = ["from_units", "to_units", "units"]


def to_units(amount: str | int, decimal: int, field: str) -> str:
    """`"0.001"` with 18 decimals → `"1000000000000000"`; refuses what it cannot represent."""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise bad_request(f"{field}: {amount!r} is not a decimal amount") from None
    if not value.is_finite() or value < 0:
        raise bad_request(f"{field}: {amount!r} is not a non-negative amount")
    scaled = value.scaleb(decimal)
    if scaled != scaled.to_integral_value():
        raise bad_request(f"{field}: {amount} has more than {decimal} decimal places for this currency")
    return str(int(scaled))


def from_units(units_: str | int, decimal: int) -> str:
    """`"1000000000000000"` with 18 decimals → `"0.001"` (no trailing zeros)."""
    value = Decimal(int(units_)).scaleb(-decimal)
    text = format(value.normalize(), "f") if value else "0"
    return text


def units(value: str | int | None) -> int:
    """An integer-unit string as an int (absent means 0)."""
    return int(value) if value not in (None, "") else 0
