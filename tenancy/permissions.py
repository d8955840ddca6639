"""Role checks: owner > admin > agent > viewer (CONTRACT §2)."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from tenancy.actors import StaffActor


class IsStaffMember(BasePermission):
    """Any authenticated member of the agency named in their token."""

    def has_permission(self, request, view):
        actor = getattr(request, "actor", None)
        if not isinstance(actor, StaffActor):
            return False
        minimum = getattr(view, "required_roles", {}).get(request.method) or getattr(view, "min_role", "viewer")
        return actor.has_role(minimum)


def role_required(minimum: str):
    class _Role(IsStaffMember):
        def has_permission(self, request, view):
            actor = getattr(request, "actor", None)
            return isinstance(actor, StaffActor) and actor.has_role(minimum)

    _Role.__name__ = f"Requires{minimum.title()}"
    return _Role
