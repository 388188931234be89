"""Display helpers for credit amounts, as the Node SDK exports them
(`formatCreditAmount`, `getCurrencySymbol`, `hasCurrencySymbol`,
`CURRENCY_SYMBOLS`), with the same results."""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType

__all__ = ["CURRENCY_SYMBOLS", "format_credit_amount", "get_currency_symbol", "has_currency_symbol"]

CURRENCY_SYMBOLS = MappingProxyType(
    {
        "USD": "$",
        "EUR": "€",
        "GBP": "£",
        "JPY": "¥",
        "CNY": "¥",
        "KRW": "₩",
        "INR": "₹",
        "AUD": "A$",
        "CAD": "C$",
        "CHF": "Fr",
        "HKD": "HK$",
        "SGD": "S$",
        "NZD": "NZ$",
    }
)


def format_credit_amount(
    formatted_amount: str | Decimal, currency_symbol: str | None = None, show_unit: bool = True
) -> str:
    """A credit amount for display.

    `format_credit_amount("20", "USD")` is `"$20 credits"`; a currency without
    a symbol keeps its name as the unit (`"100 minutes"`), or none with
    `show_unit=False` (`"50"`). A string is shown as given; a `Decimal` (what
    `from_units` returns) is shown in plain notation (`Decimal("9.9E+2")` → `"990"`).
    Pass human amounts, not integer units: `format_credit_amount(from_units(units, decimal), symbol)`.
    """
    if isinstance(formatted_amount, Decimal):
        formatted_amount = format(formatted_amount, "f")
    symbol = CURRENCY_SYMBOLS.get(currency_symbol or "")
    if symbol:
        return f"{symbol}{formatted_amount} credits"
    unit = f" {currency_symbol}" if show_unit and currency_symbol else ""
    return f"{formatted_amount}{unit}"


def get_currency_symbol(currency_symbol: str) -> str | None:
    """The display symbol of a currency code (`"USD"` → `"$"`), or None."""
    return CURRENCY_SYMBOLS.get(currency_symbol)


def has_currency_symbol(currency_symbol: str) -> bool:
    """Whether `currency_symbol` has a display symbol."""
    return currency_symbol in CURRENCY_SYMBOLS
