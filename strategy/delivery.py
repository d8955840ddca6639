"""The emails that deliver a strategy: to the lead (the PDF attached) and a
notice to the agency. Built here, sent by strategy.services under the
strategy's row lock so each goes out once."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from strategy.writer.formatting import coerce_budget, format_eur


def _sender(agency) -> str:
    # The agency's name in the display part; the address stays ours (SPF/DKIM).
    address = settings.DEFAULT_FROM_EMAIL.rsplit("<", 1)[-1].rstrip(">").strip()
    name = agency.name.replace('"', "").replace("\n", " ")[:80]
    return f'"{name}" <{address}>'


def lead_strategy_email(*, strategy, lead, agency, pdf: bytes, pdf_url: str) -> EmailMultiAlternatives:
    content = strategy.content or {}
    context = {
        "lead_name": (lead.name or "").split(" ")[0] or "hola",
        "company": lead.company or "tu empresa",
        "agency_name": agency.name,
        "summary": content.get("executive_summary") or strategy.summary,
        "next_steps": [step for step in content.get("next_steps") or [] if isinstance(step, dict)][:4],
        "pdf_url": pdf_url,
        "primary_color": (agency.branding or {}).get("primary_color") or "#4f46e5",
    }
    message = EmailMultiAlternatives(
        subject=f"Tu estrategia de marketing para {context['company']}",
        body=render_to_string("strategy/email/lead.txt", context),
        from_email=_sender(agency),
        to=[lead.email],
        headers={"Message-ID": f"<strategy-{strategy.id}@markezy>", "Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(render_to_string("strategy/email/lead.html", context), "text/html")
    filename = "estrategia-" + "".join(c if c.isalnum() else "-" for c in (lead.company or "marketing").lower())[:40]
    message.attach(f"{filename.strip('-')}.pdf", pdf, "application/pdf")
    return message


def agency_notice_email(*, strategy, lead, agency, recipients: list[str], console_url: str) -> EmailMultiAlternatives:
    budget = coerce_budget((lead.answers or {}).get("budget_monthly"))
    context = {
        "agency_name": agency.name,
        "lead_name": lead.name or "Sin nombre",
        "company": lead.company or "—",
        "sector": lead.sector or "—",
        "budget": format_eur(budget) if budget else "—",
        "score": lead.score,
        "summary": strategy.summary,
        "writer": strategy.writer,
        "console_url": console_url,
        "emailed": bool(lead.email),
    }
    message = EmailMultiAlternatives(
        subject=f"Nuevo lead cualificado: {context['company']} ({context['score'] if context['score'] is not None else '—'}/100)",
        body=render_to_string("strategy/email/agency.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        headers={"Message-ID": f"<strategy-notice-{strategy.id}@markezy>", "Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(render_to_string("strategy/email/agency.html", context), "text/html")
    return message
