"""Spanish number formatting shared by the writer and the PDF."""

from __future__ import annotations

import math


def coerce_budget(value: object) -> float | None:
    """A lead's monthly budget as a non-negative number, or None when unknown.

    Answers come typed from the flow, but a strategy regenerated from an old
    record or an API client may carry a string; anything unusable is "unknown",
    never an error, because a strategy must always be writable.
    """
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(str(value).replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(number) or math.isinf(number):
        return None
    return max(0.0, round(number, 2))


def format_number(value: float, *, decimals: int | None = None) -> str:
    """1234.5 → "1.234,5" (Spanish separators; whole numbers without decimals)."""
    if decimals is None:
        decimals = 0 if float(value).is_integer() else (1 if round(value, 1) == round(value, 2) else 2)
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def format_eur(value: float) -> str:
    """1500 → "1.500 €"; 1234.5 → "1.234,50 €" (cents always with two digits)."""
    decimals = 0 if float(value).is_integer() else 2
    return f"{format_number(value, decimals=decimals)} €"
