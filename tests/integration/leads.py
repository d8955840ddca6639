"""Leads driven through the chat services in-process (no socket): for tests
about what happens after the conversation — strategies, analytics, erasure."""

from __future__ import annotations

import uuid

from django_scopes import scope

# The default flow answered in full: an online bakery, 2 000 € a month, right away.
SCRIPT = [
    "Sí, acepto",
    "Me llamo Ana García",
    "Panadería Sol",
    "Vendemos por internet, es una tienda online",
    "Shopify",
    "panaderiasol.es",
    "Vender más y captar clientes",
    "Familias de Valencia de 30 a 50 años",
    "Instagram y un poco de SEO",
    "unos 2.000 € al mes",
    "cuanto antes",
    "MiEmpresa@Correo.es",
    "+34 612 34 56 78",
]
LEAD_EMAIL = "miempresa@correo.es"


def open_conversation(agency, *, server_base: str = "https://chat.markezy.test"):
    """A new conversation on the agency's current flow, and its visitor."""
    from chat.models import Conversation
    from qualification.services import flow_version_current, lead_start
    from tenancy.actors import VisitorActor

    with scope(agency=agency.id):
        conversation = Conversation.objects.create(agency=agency, flow_version=flow_version_current(agency_id=agency.id),
                                                   server_base=server_base)
        lead_start(conversation=conversation)
    return conversation, VisitorActor(agency_id=agency.id, conversation_id=conversation.id,
                                      visitor_id=conversation.visitor_id)


def say(visitor, *texts: str) -> None:
    from chat.services import lead_message_receive

    for text in texts:
        lead_message_receive(visitor=visitor, client_id=uuid.uuid4(), text=text)


def qualified_lead(agency, script: list[str] = SCRIPT):
    """A lead that answered the whole default flow (and so is qualified)."""
    from qualification.models import Lead

    conversation, visitor = open_conversation(agency)
    say(visitor, *script)
    with scope(agency=agency.id):
        lead = Lead.objects.get(conversation=conversation)
    assert lead.status == "qualified", lead.status
    return lead
