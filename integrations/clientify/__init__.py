"""Clientify CRM: the HTTP client, its errors and the lead → contact mapping."""

from .client import DEFAULT_BASE_URL, AccountInfo, ClientifyClient, Contact, Deal, Note
from .errors import (
    ClientifyAuthError,
    ClientifyError,
    ClientifyNotFound,
    ClientifyPermanentError,
    ClientifyRateLimited,
    ClientifyTransientError,
)
from .mapping import (
    InvalidMapping,
    LeadSnapshot,
    build_contact_payload,
    build_deal,
    build_note,
    parse_mapping,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "AccountInfo",
    "ClientifyAuthError",
    "ClientifyClient",
    "ClientifyError",
    "ClientifyNotFound",
    "ClientifyPermanentError",
    "ClientifyRateLimited",
    "ClientifyTransientError",
    "Contact",
    "Deal",
    "InvalidMapping",
    "LeadSnapshot",
    "Note",
    "build_contact_payload",
    "build_deal",
    "build_note",
    "parse_mapping",
]
