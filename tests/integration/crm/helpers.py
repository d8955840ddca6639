"""Helpers of the CRM sync tests (connected agencies, qualified leads)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.utils import timezone
from django_scopes import scope, scopes_disabled

TOKEN_A = "tok-agencia-a"
TOKEN_B = "tok-agencia-b"


def staff_actor(user, agency, role: str):
    from tenancy.actors import StaffActor

    return StaffActor(user_id=user.id, agency_id=agency.id, role=role)


def connect(agency_users, token: str = TOKEN_A, **kwargs):
    from integrations.services import clientify_connection_save

    actor = staff_actor(agency_users.admin, agency_users.agency, "admin")
    return clientify_connection_save(actor=actor, api_token=token, enabled=True, **kwargs)


def qualified_lead_via_chat(agency_users, *, ip: str, email: str = "ana.garcia@correo.es"):
    """A lead qualified by walking the default flow, the way a visitor does."""
    from chat.services import lead_message_receive, widget_session_open
    from chat.visitor import visitor_token_verify
    from qualification.models import Lead

    session = widget_session_open(key=agency_users.key.key, origin="https://cliente.example", visitor_token=None,
                                  page_url="https://cliente.example/", locale="es", ip=ip)
    visitor = visitor_token_verify(session.visitor_token)
    for text in ("Sí", "Me llamo Ana García López", "Panadería Sol", "hostelería", "no tengo", "reservas",
                 "vecinos", "redes sociales", "2.000 €", "ya", email, "612345678"):
        lead_message_receive(visitor=visitor, client_id=uuid.uuid4(), text=text)
    with scopes_disabled():
        return Lead.objects.get(conversation=session.conversation)


def qualified_lead_row(agency, *, n: int, email: str | None = None):
    """A qualified lead written straight into its tables (fast, for the volume tests)."""
    from chat.models import Conversation
    from project.crypto import blind_index
    from qualification.models import Lead

    email = email or f"lead{n}-{uuid.uuid4().hex[:6]}@correo.es"
    answers = {"consent": True, "name": f"Lead Número{n} Pérez", "company": f"Empresa {n}", "sector": "hosteleria",
               "goals": ["reservas"], "budget_monthly": 1500 + n, "email": email, "phone": "+34612345678"}
    with scope(agency=agency.id):
        conversation = Conversation.objects.create(agency=agency, status=Conversation.Status.QUALIFIED, step="done",
                                                   consent_granted=True)
        return Lead.objects.create(
            agency=agency, conversation=conversation, status=Lead.Status.QUALIFIED, answers=answers,
            answers_version=len(answers), name=answers["name"], email=email, email_index=blind_index(email),
            phone=answers["phone"], company=answers["company"], sector="hosteleria",
            budget_monthly=Decimal(answers["budget_monthly"]), score=72, consent_granted=True,
            qualified_at=timezone.now(),
        )
