"""Reads of the CRM sync and the webhooks; always with an actor or an agency."""

from __future__ import annotations

from django.conf import settings
from django_scopes import scope

from integrations.models import ClientifyConnection, CrmSync, CrmTombstone, WebhookDelivery, WebhookEndpoint
from project.api.errors import NotFound
from tenancy.actors import StaffActor
from tenancy.selectors import _uuid


def clientify_connection(actor: StaffActor) -> ClientifyConnection | None:
    with scope(agency=actor.agency_id):
        return ClientifyConnection.objects.filter(agency_id=actor.agency_id).first()


def crm_sync_counts(actor: StaffActor) -> dict:
    from django.db.models import Count

    with scope(agency=actor.agency_id):
        rows = CrmSync.objects.values("status").annotate(n=Count("id"))
        counts = {row["status"]: row["n"] for row in rows}
        counts["dead_lettered"] = CrmSync.objects.filter(dead_lettered_at__isnull=False).count()
    return counts


def crm_dead_letters(actor: StaffActor):
    with scope(agency=actor.agency_id):
        return CrmSync.objects.filter(dead_lettered_at__isnull=False).select_related("lead") \
            .order_by("-dead_lettered_at", "-id")


def crm_state_data(state: CrmSync | None) -> dict | None:
    """The `crm` object of a lead (REST) — no personal data, only the sync's state."""
    if state is None:
        return None
    return {
        "status": state.status,
        "contact_id": state.contact_id,
        "deal_id": state.deal_id,
        "attempts": state.attempts,
        "last_error": state.last_error or None,
        "last_synced_at": state.last_synced_at.isoformat() if state.last_synced_at else None,
        "next_attempt_at": state.next_attempt_at.isoformat() if state.next_attempt_at else None,
        "dead_lettered": state.dead_lettered,
        "contact_status": state.contact_status or None,
        "deal_status": state.deal_status or None,
    }


def crm_for_lead(*, agency_id, lead_id, lead=None) -> dict | None:
    """The lead detail's `crm` key: its sync state, or null when it was never queued.

    Pass ``lead`` when a list `select_related("crm_sync")`: no query then."""
    from qualification.models import Lead

    if lead is not None and Lead.crm_sync.is_cached(lead):
        try:
            return crm_state_data(lead.crm_sync)
        except CrmSync.DoesNotExist:
            return None
    with scope(agency=agency_id):
        return crm_state_data(CrmSync.objects.filter(lead_id=lead_id).first())


def crm_brief(lead) -> dict | None:
    """`{"status": ...}` for the conversation list and `conversation.updated`.

    Cheap on purpose: it uses the row when the caller `select_related` it, and
    otherwise reads one indexed column, only for leads that can have a sync."""
    from qualification.models import Lead

    if lead is None:
        return None
    if Lead.crm_sync.is_cached(lead):
        try:
            state = lead.crm_sync
        except CrmSync.DoesNotExist:
            return None
        return {"status": state.status}
    if lead.qualified_at is None:  # never qualified: never synced, no query
        return None
    with scope(agency=lead.agency_id):
        status = CrmSync.objects.filter(lead_id=lead.id).values_list("status", flat=True).first()
    return {"status": status} if status else None


def crm_history_for_lead(lead) -> list[dict]:
    """For the RGPD export: what was sent to the CRM and when (ids, not contents)."""
    with scope(agency=lead.agency_id):
        state = CrmSync.objects.filter(lead_id=lead.id).first()
        tombstone = CrmTombstone.objects.filter(lead_id=lead.id).first()
    out = []
    if state is not None:
        out.append({"crm": "clientify", **crm_state_data(state)})
    if tombstone is not None:
        out.append({"crm": "clientify", "status": "erased",
                    "deleted_upstream_at": tombstone.deleted_upstream_at.isoformat()
                    if tombstone.deleted_upstream_at else None})
    return out


def inbound_webhook_path(connection: ClientifyConnection) -> str:
    return f"/api/v1/webhooks/clientify/{connection.inbound_secret}"


def clientify_api_root() -> str:
    return settings.CLIENTIFY_BASE_URL


def webhook_endpoints(actor: StaffActor):
    with scope(agency=actor.agency_id):
        return list(WebhookEndpoint.objects.order_by("created"))


def access_webhook_endpoint(actor: StaffActor, endpoint_id) -> WebhookEndpoint:
    with scope(agency=actor.agency_id):
        endpoint = WebhookEndpoint.objects.filter(id=_uuid(endpoint_id)).first()
    if endpoint is None:
        raise NotFound()
    return endpoint


def webhook_deliveries(actor: StaffActor, endpoint: WebhookEndpoint):
    with scope(agency=actor.agency_id):
        return WebhookDelivery.objects.filter(endpoint=endpoint)


def access_webhook_delivery(actor: StaffActor, endpoint: WebhookEndpoint, delivery_id) -> WebhookDelivery:
    with scope(agency=actor.agency_id):
        delivery = WebhookDelivery.objects.select_related("endpoint").filter(
            id=_uuid(delivery_id), endpoint=endpoint).first()
    if delivery is None:
        raise NotFound()
    return delivery


def integrations_reconcile_candidates(*, settled_before, limit: int) -> dict[str, list[tuple]]:
    """CRM syncs and webhook deliveries that a lost enqueue (the broker away
    at a commit, or at a retry's hop) left without a task, across agencies
    (the beat's reconcile task is no tenant's request). Each a list of
    (id, agency_id), at most `limit`:

    - `unrequested`: qualified leads of agencies with Clientify on, settled
      since `settled_before`, that no sync has looked at (no CrmSync row);
    - `syncs`: pending syncs whose next attempt was due before `settled_before`
      (or, with none scheduled, unchanged since then);
    - `deliveries`: pending webhook deliveries likewise (a replay starts a new
      window: it counts from then)."""
    from django.db.models import Exists, OuterRef, Q
    from django_scopes import scopes_disabled

    from qualification.models import Lead

    overdue = Q(next_attempt_at__lt=settled_before) | Q(next_attempt_at__isnull=True)
    with scopes_disabled():
        # The token is encrypted at rest; its last four characters say whether there is one.
        connected = ClientifyConnection.objects.filter(enabled=True).exclude(token_last4="").values("agency_id")
        unrequested = (Lead.objects.filter(status=Lead.Status.QUALIFIED, erased_at__isnull=True,
                                           updated__lt=settled_before, agency_id__in=connected)
                       .exclude(Exists(CrmSync.objects.filter(lead=OuterRef("pk"))))
                       .exclude(Exists(CrmTombstone.objects.filter(lead_id=OuterRef("pk"))))
                       .values_list("id", "agency_id")[:limit])
        syncs = (CrmSync.objects.filter(overdue, status=CrmSync.Status.PENDING, dead_lettered_at__isnull=True,
                                        updated__lt=settled_before)
                 .values_list("lead_id", "agency_id")[:limit])
        deliveries = (WebhookDelivery.objects.filter(overdue, status=WebhookDelivery.Status.PENDING,
                                                     dead_lettered_at__isnull=True,
                                                     window_started_at__lt=settled_before)
                      .exclude(last_attempt_at__gte=settled_before)
                      .values_list("id", "agency_id")[:limit])
        return {"unrequested": list(unrequested), "syncs": list(syncs), "deliveries": list(deliveries)}
