"""The append-only audit log: who did what, when, from where (issue 9)."""

from __future__ import annotations

from django_scopes import scope

from tenancy.models import AuditLog


def audit_record(*, agency_id, action: str, actor_user_id=None, target: str = "", ip: str = "", data: dict | None = None) -> None:
    with scope(agency=agency_id):
        AuditLog.objects.create(
            agency_id=agency_id, actor_user_id=actor_user_id, action=action, target=target, ip=ip, data=data or {}
        )
