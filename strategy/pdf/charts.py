"""Charts as inline SVG strings, computed in Python (WeasyPrint runs no JS).

Every label is escaped: channel names can come from an LLM.
"""

from __future__ import annotations

import math
from html import escape

from strategy.pdf.colors import palette


def _arc_path(cx: float, cy: float, r_outer: float, r_inner: float, start: float, end: float) -> str:
    """An annular sector from angle `start` to `end` (radians, clockwise from 12 o'clock)."""
    def point(radius: float, angle: float) -> tuple[float, float]:
        return cx + radius * math.sin(angle), cy - radius * math.cos(angle)

    large = 1 if end - start > math.pi else 0
    x1, y1 = point(r_outer, start)
    x2, y2 = point(r_outer, end)
    x3, y3 = point(r_inner, end)
    x4, y4 = point(r_inner, start)
    return (f"M{x1:.2f},{y1:.2f} A{r_outer},{r_outer} 0 {large} 1 {x2:.2f},{y2:.2f} "
            f"L{x3:.2f},{y3:.2f} A{r_inner},{r_inner} 0 {large} 0 {x4:.2f},{y4:.2f} Z")


def donut_svg(*, shares: list[float], brand: str, center_label: str, center_caption: str, size: int = 200) -> str:
    """A donut of `shares` (fractions; normalised here) with a figure in the hole."""
    total = sum(shares)
    colors = palette(brand, len(shares))
    cx = cy = size / 2
    r_outer, r_inner = size / 2 - 2, size / 2 - 34
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
              f'viewBox="0 0 {size} {size}" role="img">')]
    if total <= 0 or len(shares) == 0:
        parts.append(f'<circle cx="{cx}" cy="{cy}" r="{(r_outer + r_inner) / 2}" fill="none" '
                     f'stroke="#e6e8ec" stroke-width="{r_outer - r_inner}"/>')
    elif len([s for s in shares if s > 0]) == 1:
        # A single 360° arc degenerates (start = end): draw a ring instead.
        color = colors[next(i for i, s in enumerate(shares) if s > 0)]
        parts.append(f'<circle cx="{cx}" cy="{cy}" r="{(r_outer + r_inner) / 2}" fill="none" '
                     f'stroke="{color}" stroke-width="{r_outer - r_inner}"/>')
    else:
        angle = 0.0
        gap = 0.012  # a hairline of white between segments
        for share, color in zip(shares, colors, strict=True):
            sweep = 2 * math.pi * share / total
            if sweep <= 0:
                continue
            parts.append(f'<path d="{_arc_path(cx, cy, r_outer, r_inner, angle, angle + max(sweep - gap, 0.001))}" '
                         f'fill="{color}"/>')
            angle += sweep
    parts.append(f'<text x="{cx}" y="{cy + 2}" text-anchor="middle" font-family="Montserrat" font-weight="700" '
                 f'font-size="20" fill="#1d2433">{escape(center_label)}</text>')
    parts.append(f'<text x="{cx}" y="{cy + 20}" text-anchor="middle" font-family="Inter" font-size="10" '
                 f'fill="#6b7280">{escape(center_caption)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bars_svg(*, rows: list[tuple[str, float, str]], brand: str, width: int = 300) -> str:
    """Horizontal bars: (label, share 0..1, value text) per row, widest share = full width."""
    colors = palette(brand, len(rows))
    row_height, bar_height, value_width = 28, 9, 52
    height = row_height * len(rows)
    top = max((share for _, share, _ in rows), default=0) or 1
    track = width - value_width
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
              f'viewBox="0 0 {width} {height}" role="img">')]
    for i, ((label, share, value), color) in enumerate(zip(rows, colors, strict=True)):
        y = i * row_height
        bar = max(track * share / top, 2 if share > 0 else 0)
        parts.append(f'<text x="0" y="{y + 10}" font-family="Inter" font-size="8" fill="#374151">'
                     f'{escape(label)}</text>')
        parts.append(f'<rect x="0" y="{y + 14}" width="{track}" height="{bar_height}" rx="4.5" fill="#eef0f3"/>')
        if bar:
            parts.append(f'<rect x="0" y="{y + 14}" width="{bar:.1f}" height="{bar_height}" rx="4.5" fill="{color}"/>')
        parts.append(f'<text x="{width}" y="{y + 22}" text-anchor="end" font-family="Inter" font-weight="600" '
                     f'font-size="8.5" fill="#1d2433">{escape(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)
