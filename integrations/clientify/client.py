"""A small, typed, synchronous client for Clientify's public API v1.

Synchronous on purpose: it runs inside Celery tasks, never on the event loop.
Every call has a timeout, and every failure is mapped onto the two families of
:mod:`integrations.clientify.errors` so that the caller only has to decide
between "retry later" and "tell the agency".

Clientify's API v1 is Django REST Framework underneath: ``Authorization: Token``,
trailing slashes, ``{"count","next","previous","results"}`` pages, hyperlinked
relations (a deal's ``contact`` is the contact's ``url``) and DRF error bodies.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Self

import httpx

from .errors import (
    ClientifyAuthError,
    ClientifyError,
    ClientifyNotFound,
    ClientifyPermanentError,
    ClientifyRateLimited,
    ClientifyTransientError,
    error_detail,
    parse_retry_after,
)

__all__ = ["DEFAULT_BASE_URL", "AccountInfo", "ClientifyClient", "Contact", "Deal", "Note"]

DEFAULT_BASE_URL = "https://api.clientify.net/v1"

# (connect, read) like requests: connecting should be quick, Clientify itself can be slow.
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 10.0)

# Methods whose effect may have landed upstream even though no answer came back.
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Clientify's search is a fuzzy "contains" over several columns; one page is
# plenty to find an exact e-mail match and keeps the lookup to a single call.
_SEARCH_PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """Who an API token belongs to, as shown when an agency connects Clientify."""

    id: int | None
    email: str
    name: str
    company: str
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> AccountInfo:
        name = " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
        return cls(
            id=data.get("id"),
            email=data.get("email") or "",
            name=name or data.get("username") or "",
            company=data.get("company_name") or data.get("company") or "",
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class Contact:
    """A Clientify contact, reduced to what Markezy reads back; ``raw`` keeps the rest."""

    id: int
    url: str
    first_name: str
    last_name: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    status: str
    tags: tuple[str, ...]
    custom_fields: dict[str, str]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def email(self) -> str | None:
        """The main e-mail (Clientify lists it first)."""
        return self.emails[0] if self.emails else None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Contact:
        return cls(
            id=int(data["id"]),
            url=data.get("url") or "",
            first_name=data.get("first_name") or "",
            last_name=data.get("last_name") or "",
            emails=tuple(e["email"] for e in data.get("emails") or () if e.get("email")),
            phones=tuple(p["phone"] for p in data.get("phones") or () if p.get("phone")),
            status=data.get("status") or "",
            tags=tuple(t if isinstance(t, str) else t.get("name", "") for t in data.get("tags") or ()),
            custom_fields={
                str(cf["field"]): "" if cf.get("value") is None else str(cf["value"])
                for cf in data.get("custom_fields") or ()
                if cf.get("field")
            },
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    name: str
    comment: str
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Note:
        return cls(
            id=int(data["id"]),
            name=data.get("name") or "",
            comment=data.get("comment") or "",
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class Deal:
    id: int
    url: str
    name: str
    amount: Decimal | None
    contact_url: str
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Deal:
        try:
            amount = None if data.get("amount") in (None, "") else Decimal(str(data["amount"]))
        except InvalidOperation:
            amount = None
        return cls(
            id=int(data["id"]),
            url=data.get("url") or "",
            name=data.get("name") or "",
            amount=amount,
            contact_url=data.get("contact") or "",
            raw=dict(data),
        )


class ClientifyClient:
    """One agency's view of Clientify.

    ``timeout`` is a single number or ``(connect, read)`` seconds, applied to every
    call. Pass ``session`` to share a connection pool (or a test transport); the
    client then leaves closing it to you.
    """

    def __init__(
        self,
        base_url: str,
        api_token: str,
        *,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        session: httpx.Client | None = None,
    ) -> None:
        if not api_token:
            raise ValueError("api_token is required")
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        connect, read = (timeout, timeout) if isinstance(timeout, int | float) else timeout
        self._timeout = httpx.Timeout(read, connect=connect)
        self._headers = {
            "Authorization": f"Token {api_token}",
            "Accept": "application/json",
            "User-Agent": "Markezy-CRM-Sync/1",
        }
        self._owns_session = session is None
        self._session = session or httpx.Client(timeout=self._timeout)

    # -- lifecycle -----------------------------------------------------------

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- account -------------------------------------------------------------

    def validate_token(self) -> AccountInfo:
        """Check the token with the cheapest authenticated read Clientify offers.

        Raises :class:`ClientifyAuthError` for a bad token, so the integration
        endpoint can answer "token rejected" rather than "Clientify is down".
        """
        return AccountInfo.from_api(self._json("GET", "settings/my-account/"))

    # -- contacts ------------------------------------------------------------

    def find_contact_by_email(self, email: str) -> Contact | None:
        """The oldest contact whose e-mails include ``email`` (case-insensitive), if any.

        Clientify's ``email`` filter is a search, not an equality test, and it
        allows duplicates; filtering exactly here and taking the lowest id makes
        repeated syncs converge on the same contact.
        """
        wanted = email.strip().casefold()
        if not wanted:
            return None
        matches = [
            contact
            for contact in self._iter_contacts("contacts/", params={"email": email.strip()}, max_pages=1)
            if wanted in (e.casefold() for e in contact.emails)
        ]
        return min(matches, key=lambda c: c.id) if matches else None

    def get_contact(self, contact_id: int) -> Contact | None:
        try:
            return Contact.from_api(self._json("GET", f"contacts/{int(contact_id)}/"))
        except ClientifyNotFound:
            return None

    def create_contact(self, payload: Mapping[str, Any]) -> Contact:
        """Create a contact. Not idempotent upstream: on an ``outcome_unknown`` error look it up first."""
        return Contact.from_api(self._json("POST", "contacts/", json=dict(payload)))

    def update_contact(self, contact_id: int, payload: Mapping[str, Any]) -> Contact:
        """Update the fields present in ``payload`` (Clientify's PUT leaves the others alone)."""
        return Contact.from_api(self._json("PUT", f"contacts/{int(contact_id)}/", json=dict(payload)))

    def delete_contact(self, contact_id: int) -> None:
        """Delete a contact; one that is already gone counts as deleted (RGPD erasure retries)."""
        try:
            self._request("DELETE", f"contacts/{int(contact_id)}/")
        except ClientifyNotFound:
            return

    def add_note(self, contact_id: int, *, name: str, comment: str) -> Note:
        return Note.from_api(
            self._json("POST", f"contacts/{int(contact_id)}/note/", json={"name": name, "comment": comment})
        )

    # -- deals ---------------------------------------------------------------

    def create_deal(
        self,
        *,
        name: str,
        contact_url: str,
        amount: Decimal | float | None,
        currency: str | None = None,
        pipeline_desc: str | None = None,
        pipeline_stage_desc: str | None = None,
        deal_source: str | None = None,
        custom_fields: list[dict[str, str]] | None = None,
    ) -> Deal:
        """Open a deal on a contact; pipeline and stage go by name, as Clientify allows."""
        body: dict[str, Any] = {"name": name, "contact": contact_url}
        optional = {
            "amount": None if amount is None else _money(amount),
            "currency": currency,
            "pipeline_desc": pipeline_desc,
            "pipeline_stage_desc": pipeline_stage_desc,
            "deal_source": deal_source,
            "custom_fields": custom_fields,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        return Deal.from_api(self._json("POST", "deals/", json=body))

    def find_deal_for_contact(self, contact_url: str) -> Deal | None:
        """The oldest deal on the contact at ``contact_url``, looked for in the first page only.

        Used after a deal creation whose answer was lost, to avoid opening a second
        deal. The ``contact`` filter is a hint Clientify may ignore, so the match
        is made here, exactly, on the hyperlink."""
        match = re.search(r"/contacts/(\d+)/?$", contact_url or "")
        params: dict[str, Any] = {"page_size": _SEARCH_PAGE_SIZE}
        if match:
            params["contact"] = match.group(1)
        data = self._json("GET", "deals/", params=params)
        deals = [Deal.from_api(item) for item in data.get("results") or ()]
        mine = [d for d in deals if d.contact_url.rstrip("/") == contact_url.rstrip("/")]
        return min(mine, key=lambda d: d.id) if mine else None

    # -- transport -----------------------------------------------------------

    def _iter_contacts(self, path: str, *, params: Mapping[str, Any], max_pages: int) -> Iterator[Contact]:
        """Walk a DRF page chain, following ``next`` links at most ``max_pages`` times."""
        data = self._json("GET", path, params={**params, "page_size": _SEARCH_PAGE_SIZE})
        for _ in range(max_pages):
            yield from (Contact.from_api(item) for item in data.get("results") or ())
            if not data.get("next"):
                return
            data = self._json("GET", data["next"])

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._request(method, path, **kwargs)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            # A 2xx that is not a JSON object comes from a proxy or an outage page,
            # never from the API proper: worth another try later.
            raise ClientifyTransientError(
                "Clientify answered with an unexpected body.",
                status=response.status_code,
                outcome_unknown=method in _WRITE_METHODS,
            )
        return data

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path}"
        try:
            response = self._session.request(
                method, url, headers=self._headers, timeout=self._timeout, **kwargs
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing reached Clientify: safe to repeat as is.
            raise ClientifyTransientError(f"Could not reach Clientify: {exc!r}") from exc
        except httpx.TimeoutException as exc:
            raise ClientifyTransientError(
                f"Clientify did not answer in time: {exc!r}", outcome_unknown=method in _WRITE_METHODS
            ) from exc
        except httpx.TransportError as exc:
            raise ClientifyTransientError(
                f"Connection to Clientify failed: {exc!r}", outcome_unknown=method in _WRITE_METHODS
            ) from exc
        if response.is_success:
            return response
        raise _error_for(response)


def _error_for(response: httpx.Response) -> ClientifyError:
    status = response.status_code
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    detail, fields = error_detail(body)
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429:
        return ClientifyRateLimited(detail, status=status, retry_after=retry_after)
    if status >= 500 or status == 408:
        # A 5xx on a write may still have committed (e.g. a failure while rendering the answer).
        return ClientifyTransientError(
            detail,
            status=status,
            retry_after=retry_after,
            outcome_unknown=response.request.method in _WRITE_METHODS,
        )
    if status in (401, 403):
        return ClientifyAuthError(detail, status=status)
    if status == 404:
        return ClientifyNotFound(detail, status=status)
    return ClientifyPermanentError(detail, status=status, fields=fields)


def _money(amount: Decimal | float) -> str:
    """Clientify's amounts are decimal strings with two places ("1500.00")."""
    return str(Decimal(str(amount)).quantize(Decimal("0.01")))
