"""The strategy as a branded PDF (WeasyPrint)."""

from strategy.pdf.render import render_strategy_html, render_strategy_pdf

__all__ = ["render_strategy_html", "render_strategy_pdf"]
