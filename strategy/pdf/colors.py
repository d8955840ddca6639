"""The agency's brand colour, made safe and turned into a small palette."""

from __future__ import annotations

import re

DEFAULT_BRAND = "#2b59c3"
_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
# Companions for the brand colour in charts: distinct hues that stay legible
# next to any brand colour and print well in greyscale.
_COMPANIONS = ("#F2A541", "#2EC4B6", "#E4572E", "#8E7DBE", "#5C6B73", "#9BC53D")


def normalize_hex(value: object) -> str:
    """A `#rrggbb` colour; anything else (CSS injection included) → the default."""
    match = _HEX.match(str(value or "").strip())
    if not match:
        return DEFAULT_BRAND
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return f"#{digits.lower()}"


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def mix(color: str, other: str, amount: float) -> str:
    """`amount` of `other` blended into `color` (0 → color, 1 → other)."""
    a, b = _rgb(color), _rgb(other)
    return "#" + "".join(f"{round(x + (y - x) * amount):02x}" for x, y in zip(a, b, strict=True))


def luminance(color: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in _rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_on(color: str) -> str:
    """White or near-black, whichever reads better on `color`."""
    return "#ffffff" if luminance(color) < 0.4 else "#111827"


def ink(color: str) -> str:
    """The brand colour darkened enough to be used for text on white."""
    while luminance(color) > 0.18:
        color = mix(color, "#000000", 0.15)
    return color


def palette(brand: str, count: int) -> list[str]:
    colors = [brand, *_COMPANIONS]
    return [colors[i % len(colors)] if i < len(colors) else mix(colors[i % len(colors)], "#ffffff", 0.4)
            for i in range(count)]
