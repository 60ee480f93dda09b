"""Money as Commerce Layer shows it: integer ``*_cents`` plus ``*_float`` and ``formatted_*``."""

from __future__ import annotations

from typing import Any

from orderfactory.jsonapi.resource import Attr, Float, Integer, String

# Symbol, and whether the symbol follows the amount with a decimal comma (European style).
_CURRENCIES: dict[str, tuple[str, bool]] = {
    "EUR": ("€", True),
    "USD": ("$", False),
    "GBP": ("£", False),
    "CAD": ("$", False),
    "AUD": ("$", False),
    "JPY": ("¥", False),
    "CHF": ("CHF ", False),
    "SEK": ("kr", True),
    "DKK": ("kr.", True),
    "NOK": ("kr", True),
    "PLN": ("zł", True),
}
_ZERO_DECIMAL = {"JPY", "KRW", "CLP", "VND", "ISK", "HUF"}


def to_float(cents: int | None, currency: str | None) -> float | None:
    if cents is None:
        return None
    return float(cents) if (currency or "").upper() in _ZERO_DECIMAL else cents / 100


def format_amount(cents: int | None, currency: str | None) -> str | None:
    """``1000, "EUR"`` -> ``"€10,00"``; ``1000, "USD"`` -> ``"$10.00"``; unknown currencies print their code."""
    if cents is None:
        return None
    code = (currency or "").upper()
    negative = cents < 0
    cents = abs(cents)
    if code in _ZERO_DECIMAL:
        whole, fraction = f"{cents:,}", ""
    else:
        whole, fraction = f"{cents // 100:,}", f"{cents % 100:02d}"
    symbol, european = _CURRENCIES.get(code, (f"{code} " if code else "", False))
    if european:
        whole = whole.replace(",", ".")
        number = f"{whole},{fraction}" if fraction else whole
    else:
        number = f"{whole}.{fraction}" if fraction else whole
    return f"{'-' if negative else ''}{symbol}{number}"


def money(
    cents_name: str,
    float_name: str,
    formatted_name: str,
    *,
    currency: str = "currency_code",
    flags: str = "Ffs",
    column: str | None = None,
) -> tuple[Attr, Attr, Attr]:
    """The three attributes of one amount: the stored cents, and float and formatted forms computed from them."""
    col = column or cents_name

    def as_float(row: dict[str, Any]) -> float | None:
        return to_float(row[col], row[currency])

    def formatted(row: dict[str, Any]) -> str | None:
        return format_amount(row[col], row[currency])

    return (
        Integer(cents_name, flags, column=col),
        Float(float_name, "F", compute=as_float, depends=(col, currency)),
        String(formatted_name, "F", compute=formatted, depends=(col, currency)),
    )
