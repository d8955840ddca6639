"""From a qualified lead to Clientify request bodies: pure functions, no I/O.

Kept apart from the client so the console can preview exactly what will be sent
for a lead, and so an agency's field mapping is validated once, when it is saved
(:func:`parse_mapping`), rather than discovered broken in a Celery task.

An agency's ``mapping`` (stored as JSON) may contain:

``fields``
    ``{"<native field>": "<target key>" | null}``: rename a native contact field
    in the body, or drop it with ``null`` (e.g. ``{"phone": null}``).
``custom_fields``
    ``false`` sends no custom fields at all (default ``true``).
``custom_field_prefix``
    prefix of the custom field names (default ``"markezy_"``).
``custom_field_names``
    ``{"<answer field>": "<Clientify custom field>" | null}``: rename one custom
    field, or leave it out with ``null``.
``status_by_band``
    ``{"hot"|"warm"|"cold": "<Clientify status>"}``.
``extra_tags``
    tags added to every contact.
``contact_source``
    what Clientify shows as the contact's source (default ``"Markezy"``).
``deal_pipeline``, ``deal_stage``
    pipeline and stage names for the deal (Clientify's defaults when absent).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

__all__ = [
    "InvalidMapping",
    "LeadSnapshot",
    "build_contact_payload",
    "build_deal",
    "build_note",
    "parse_mapping",
    "split_name",
]

ScoreBand = Literal["hot", "warm", "cold"]

SOURCE = "Markezy"

# Contact fields Markezy fills natively; an agency may rename or drop each of them.
NATIVE_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "status",
    "tags",
    "gdpr_accept",
    "contact_source",
)

DEFAULT_STATUS_BY_BAND: dict[str, str] = {"hot": "hot-lead", "warm": "warm-lead", "cold": "cold-lead"}

# Answers already sent as native fields: repeating them as custom fields only adds noise.
_ANSWERS_SENT_NATIVELY = frozenset({"consent", "name", "email", "phone", "company"})

# Lower-case words that belong to the surname (or compound first name) that follows them.
_NAME_PARTICLES = frozenset({"de", "del", "la", "las", "los", "y", "i", "da", "van", "von", "san"})

_BAND_LABEL_ES = {"hot": "caliente", "warm": "templado", "cold": "frío"}


@dataclass(frozen=True, slots=True)
class LeadSnapshot:
    """What the CRM sync needs to know about a lead, detached from the ORM.

    The sync task builds one inside its transaction and passes it here, so the
    mapping can be tested (and previewed) without a database.
    """

    lead_id: str
    name: str
    company: str
    email: str
    phone: str
    website: str
    sector: str
    answers: dict[str, Any]
    score: int
    score_band: ScoreBand
    consent_granted: bool
    strategy_summary: str | None = None
    strategy_pdf_url: str | None = None
    budget_monthly: float | None = None


class InvalidMapping(ValueError):
    """An agency's field mapping is malformed; ``errors`` names each bad key, in Spanish."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class ContactMapping:
    """A validated agency mapping with every default filled in."""

    fields: dict[str, str | None] = field(default_factory=dict)
    custom_fields: bool = True
    custom_field_prefix: str = "markezy_"
    custom_field_names: dict[str, str | None] = field(default_factory=dict)
    status_by_band: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_STATUS_BY_BAND))
    extra_tags: tuple[str, ...] = ()
    contact_source: str = SOURCE
    deal_pipeline: str | None = None
    deal_stage: str | None = None


def parse_mapping(mapping: Mapping[str, Any] | None) -> ContactMapping:
    """Validate an agency's mapping JSON; raise :class:`InvalidMapping` naming every bad key."""
    if not mapping:
        return ContactMapping()
    if not isinstance(mapping, Mapping):
        raise InvalidMapping({"mapping": "Debe ser un objeto JSON."})
    errors: dict[str, str] = {}
    known = set(ContactMapping.__dataclass_fields__)
    for key in mapping:
        if key not in known:
            errors[str(key)] = "Clave desconocida."

    def string_map(key: str, allowed: frozenset[str] | tuple[str, ...] | None) -> dict[str, str | None]:
        value = mapping.get(key, {})
        if not isinstance(value, Mapping) or not all(
            (isinstance(v, str) and v.strip()) or v is None for v in value.values()
        ):
            errors[key] = "Debe ser un objeto cuyos valores sean textos o null."
            return {}
        if allowed is not None and (unknown := sorted(set(value) - set(allowed))):
            errors[key] = f"Campos no admitidos: {', '.join(unknown)}."
            return {}
        return {str(k): v.strip() if isinstance(v, str) else None for k, v in value.items()}

    def optional_text(key: str, default: str | None) -> str | None:
        value = mapping.get(key, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            errors[key] = "Debe ser un texto no vacío."
            return default
        return value.strip() if isinstance(value, str) else None

    fields = string_map("fields", NATIVE_FIELDS)
    custom_field_names = string_map("custom_field_names", None)
    status_by_band = string_map("status_by_band", ("hot", "warm", "cold"))
    if any(v is None for v in status_by_band.values()):
        errors["status_by_band"] = "Cada banda necesita un estado."
    custom_fields = mapping.get("custom_fields", True)
    if not isinstance(custom_fields, bool):
        errors["custom_fields"] = "Debe ser true o false."
    prefix = mapping.get("custom_field_prefix", "markezy_")
    if not isinstance(prefix, str):
        errors["custom_field_prefix"] = "Debe ser un texto."
    extra_tags = mapping.get("extra_tags", [])
    if not isinstance(extra_tags, list) or not all(isinstance(t, str) and t.strip() for t in extra_tags):
        errors["extra_tags"] = "Debe ser una lista de textos."
    contact_source = optional_text("contact_source", SOURCE)
    deal_pipeline = optional_text("deal_pipeline", None)
    deal_stage = optional_text("deal_stage", None)
    if errors:
        raise InvalidMapping(errors)
    return ContactMapping(
        fields=fields,
        custom_fields=custom_fields,
        custom_field_prefix=prefix,
        custom_field_names=custom_field_names,
        status_by_band={**DEFAULT_STATUS_BY_BAND, **{k: v for k, v in status_by_band.items() if v}},
        extra_tags=tuple(t.strip() for t in extra_tags),
        contact_source=contact_source or SOURCE,
        deal_pipeline=deal_pipeline,
        deal_stage=deal_stage,
    )


def split_name(full_name: str) -> tuple[str, str]:
    """Split a Spanish full name into ``(first_name, last_name)``.

    Spaniards usually carry two surnames, so with three or more words the last
    two are the surnames ("Ana García López" → "Ana", "García López"; "José Luis
    Rodríguez Zapatero" → "José Luis", "Rodríguez Zapatero"). Particles stick to
    the word after them ("Juan de la Cruz" → "Juan", "de la Cruz"), and the
    "Surnames, Name" form is honoured. A name typed all in lower or upper case is
    capitalised; anything else is kept as the lead wrote it.
    """
    text = " ".join(full_name.split())
    if not text:
        return "", ""
    if "," in text:
        last, _, first = (part.strip() for part in text.partition(","))
        return _capitalise(first), _capitalise(last)
    units: list[str] = []
    pending: list[str] = []
    for word in text.split(" "):
        if word.casefold() in _NAME_PARTICLES:
            pending.append(word)
            continue
        units.append(" ".join([*pending, word]))
        pending = []
    if pending:  # only particles, or a dangling one at the end: keep it as a word
        units.append(" ".join(pending))
    if len(units) == 1:
        first, last = units[0], ""
    elif len(units) == 2:
        first, last = units
    else:
        first, last = " ".join(units[:-2]), " ".join(units[-2:])
    return _capitalise(first), _capitalise(last)


def build_contact_payload(lead: LeadSnapshot, *, mapping: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The body of ``POST /contacts/`` (and ``PUT /contacts/{id}/``) for ``lead``.

    Empty values are left out rather than sent blank, so an update never wipes
    what a salesperson typed into Clientify by hand.
    """
    config = parse_mapping(mapping)
    first_name, last_name = split_name(lead.name)
    native: dict[str, Any] = {
        "first_name": first_name,
        "last_name": last_name,
        "email": lead.email.strip(),
        "phone": lead.phone.strip(),
        "company": lead.company.strip(),
        "status": config.status_by_band[lead.score_band],
        "tags": _dedupe([lead.sector, SOURCE, *config.extra_tags]),
        "gdpr_accept": lead.consent_granted,
        "contact_source": config.contact_source,
    }
    payload: dict[str, Any] = {}
    for source, value in native.items():
        target = config.fields.get(source, source)
        if target is None or value in ("", [], None):
            continue
        payload[target] = value
    if config.custom_fields:
        custom = _custom_fields(lead, config)
        if custom:
            payload["custom_fields"] = custom
    return payload


def build_note(lead: LeadSnapshot) -> tuple[str, str]:
    """``(name, comment)`` of the note that carries the strategy into Clientify."""
    band = _BAND_LABEL_ES[lead.score_band]
    lines = [f"Puntuación Markezy: {lead.score}/100 ({band})."]
    if lead.strategy_summary:
        lines += ["", lead.strategy_summary.strip()]
    else:
        lines += ["", "La estrategia aún no está lista."]
    if lead.strategy_pdf_url:
        lines += ["", f"Estrategia completa (PDF): {lead.strategy_pdf_url}"]
    return "Estrategia Markezy", "\n".join(lines)


def build_deal(
    lead: LeadSnapshot, *, contact_url: str, mapping: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Keyword arguments for :meth:`ClientifyClient.create_deal` (``client.create_deal(**deal)``).

    The amount is the lead's stated monthly budget: what the agency stands to
    bill each month, which is how agencies size a retainer deal.
    """
    config = parse_mapping(mapping)
    label = lead.company.strip() or lead.name.strip() or lead.email.strip()
    deal: dict[str, Any] = {
        "name": f"Markezy · {label}" if label else "Markezy",
        "contact_url": contact_url,
        "amount": None if lead.budget_monthly is None else Decimal(str(lead.budget_monthly)),
        "currency": "EUR",
        "deal_source": config.contact_source,
    }
    if config.deal_pipeline:
        deal["pipeline_desc"] = config.deal_pipeline
    if config.deal_stage:
        deal["pipeline_stage_desc"] = config.deal_stage
    return deal


def _custom_fields(lead: LeadSnapshot, config: ContactMapping) -> list[dict[str, str]]:
    values: dict[str, Any] = {
        **{k: v for k, v in lead.answers.items() if k not in _ANSWERS_SENT_NATIVELY},
        "website": lead.website or lead.answers.get("website"),
        "sector": lead.sector or lead.answers.get("sector"),
        "score": lead.score,
        "lead_id": lead.lead_id,
    }
    out: list[dict[str, str]] = []
    for source, value in values.items():
        text = _as_text(value)
        if not text:
            continue
        name = config.custom_field_names.get(source, f"{config.custom_field_prefix}{source}")
        if name is None:
            continue
        out.append({"field": name, "value": text})
    return out


def _as_text(value: Any) -> str:
    """Render an answer the way a salesperson would read it in the CRM."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "sí" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple | set):
        return ", ".join(t for t in (_as_text(v) for v in value) if t)
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value).strip()


def _dedupe(tags: list[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for tag in (t.strip() for t in tags if t):
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            out.append(tag)
    return out


def _capitalise(name: str) -> str:
    if name != name.lower() and name != name.upper():
        return name
    return " ".join(
        w.lower() if w.lower() in _NAME_PARTICLES else re.sub(r"[^\W\d_]+", _title_word, w.lower())
        for w in name.split(" ")
    )


def _title_word(match: re.Match[str]) -> str:
    word = match.group(0)
    return word[:1].upper() + word[1:]
