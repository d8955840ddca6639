"""Who is acting. Selectors and services take an actor, never a bare id, so
every read and write is scoped to the actor's agency by construction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tenancy.models import ROLE_RANK


@dataclass(frozen=True, slots=True)
class StaffActor:
    user_id: uuid.UUID
    agency_id: uuid.UUID
    role: str
    family_id: uuid.UUID | None = None
    name: str = ""

    def has_role(self, minimum: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[minimum]


@dataclass(frozen=True, slots=True)
class VisitorActor:
    """A lead's browser, known only by its signed visitor token."""

    agency_id: uuid.UUID
    conversation_id: uuid.UUID
    visitor_id: uuid.UUID
