"""An in-memory Clientify API v1 emulator serving real HTTP on loopback.

Tests point ``CLIENTIFY_BASE_URL`` (or a ``ClientifyClient``) at it and then
assert on what Clientify would hold. It speaks Clientify's dialect: DRF token
auth (``Authorization: Token ...``), trailing slashes, hyperlinked ``url``
fields, ``{"count","next","previous","results"}`` pages and DRF error bodies.

Faults are what it is for. ``inject()`` makes matching requests fail with a
5xx, a 429 with ``Retry-After``, a slow answer, or - the case that creates
duplicate contacts in naive syncs - a write that is *committed* and then never
answered (the reply comes after the client gave up, or the connection drops).

In a test::

    with ClientifyEmulator(tokens=["tok"]) as crm:
        client = ClientifyClient(crm.base_url, "tok")
        crm.inject("timeout_after_commit", path=r"^/contacts/$", method="POST")
        ...
        assert len(crm.contacts()) == 1

Standalone, for manual runs or a server started by another process::

    python -m tests.doubles.clientify_server --port 8765 --token tok

which also serves an unauthenticated control API on the same port:
``POST /_emulator/faults`` (the arguments of :meth:`ClientifyEmulator.inject`
as JSON), ``DELETE /_emulator/faults``, ``GET /_emulator/state``,
``POST /_emulator/reset``.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import random
import re
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Self, get_args
from urllib.parse import parse_qs, urlencode, urlsplit

__all__ = ["ClientifyEmulator", "Fault", "FaultKind", "RecordedRequest"]

FaultKind = Literal["error", "rate_limit", "slow", "timeout_after_commit", "drop_after_commit"]
_FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)

API_PREFIX = "/v1"
CONTROL_PREFIX = "/_emulator"

CONTACT_STATUSES = frozenset(
    {
        "cold-lead",
        "warm-lead",
        "hot-lead",
        "in-deal",
        "customer",
        "lost-lead",
        "lost-customer",
        "not-qualified-lead",
        "other",
    }
)

# Django's EmailValidator, simplified: enough to reject what Clientify rejects in tests.
_EMAIL_RE = re.compile(r"^[^@\s]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
_CONTACT_URL_RE = re.compile(r"/contacts/(\d+)/$")

REQUIRED = "This field is required."
BLANK = "This field may not be blank."


@dataclass
class Fault:
    """One injected misbehaviour; matching requests consume ``times`` (``None``: forever)."""

    kind: FaultKind
    path: re.Pattern[str] | None = None
    method: str | None = None
    times: int | None = 1
    probability: float = 1.0
    status: int = 500
    retry_after: str | None = "1"
    delay: float = 30.0
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.method is not None and self.method != method:
            return False
        return self.path is None or bool(self.path.search(path))


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # relative to the API root, e.g. "/contacts/12/"
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any  # the parsed JSON body, or the raw text when it was not JSON
    fault: FaultKind | None


@dataclass
class _Account:
    """Everything one API token can see: Clientify accounts never share data."""

    token: str
    info: dict[str, Any]
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    deals: dict[int, dict[str, Any]] = field(default_factory=dict)


class _ValidationError(Exception):
    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass
class _Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # What to do once the state change (if any) is committed.
    after: Literal["send", "delay", "drop"] = "send"
    delay: float = 0.0


class ClientifyEmulator:
    """A thread-safe, multi-account Clientify emulator; ``start()`` returns its API root."""

    def __init__(
        self,
        *,
        tokens: Iterable[str] = ("test-token",),
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        page_size: int = 20,
    ) -> None:
        self._host, self._port = host, port
        self._page_size = page_size
        self._seed = seed
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._tokens = list(tokens)
        if not self._tokens:
            raise ValueError("at least one token is needed")
        self._reset_state()

    # -- lifecycle -----------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{API_PREFIX}"

    def start(self) -> str:
        if self._server is not None:
            return self.base_url
        handler = type("ClientifyHandler", (_Handler,), {"emulator": self})
        server = ThreadingHTTPServer((self._host, self._port), handler)
        # Handlers parked in a delay must not hold up shutdown.
        server.daemon_threads = True
        server.block_on_close = False
        self._stopping.clear()
        self._server = server
        # A short poll keeps stop() (called once per test) from costing half a second.
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="clientify-emulator",
            daemon=True,
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # wakes handlers sleeping in a fault delay
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- test controls -------------------------------------------------------

    def inject(
        self,
        kind: FaultKind,
        *,
        times: int | None = 1,
        path: str | None = None,
        method: str | None = None,
        probability: float = 1.0,
        status: int = 500,
        retry_after: str | None = "1",
        delay: float | None = None,
    ) -> Fault:
        """Make the next ``times`` matching requests misbehave.

        ``path`` is a regex searched in the path relative to the API root
        ("/contacts/12/note/"); ``probability`` draws from the emulator's seeded
        RNG, so a flaky run replays identically. ``delay`` is how long ``slow``
        waits before answering, or ``timeout_after_commit`` before replying to a
        client that has (presumably) given up; it defaults to 0.5 s and 30 s.
        """
        if kind not in _FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {_FAULT_KINDS}")
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        fault = Fault(
            kind=kind,
            path=re.compile(path) if path else None,
            method=method.upper() if method else None,
            times=times,
            probability=probability,
            status=status if kind == "error" else 429,
            retry_after=retry_after,
            delay=delay if delay is not None else (0.5 if kind == "slow" else 30.0),
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Forget contacts, deals, notes, faults and recorded requests; keep the tokens."""
        with self._lock:
            self._reset_state()

    def add_token(self, token: str) -> None:
        """Open another, empty account (another agency's Clientify)."""
        with self._lock:
            if token not in self._accounts:
                self._tokens.append(token)
                self._accounts[token] = self._new_account(token)

    def requests(self, *, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Recorded API requests, optionally filtered by method and a path regex."""
        pattern = re.compile(path) if path else None
        with self._lock:
            return [
                r
                for r in self._requests
                if (method is None or r.method == method.upper())
                and (pattern is None or pattern.search(r.path))
            ]

    def contacts(self, *, token: str | None = None) -> list[dict[str, Any]]:
        """The account's contacts as the API would render them, oldest first."""
        with self._lock:
            account = self._account(token)
            return [self._render_contact(c) for c in sorted(account.contacts.values(), key=_by_id)]

    def notes(self, contact_id: int, *, token: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._account(token).notes.get(int(contact_id), []))

    def deals(self, *, token: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(d) for d in sorted(self._account(token).deals.values(), key=_by_id)]

    def add_contact(self, payload: dict[str, Any], *, token: str | None = None) -> dict[str, Any]:
        """Seed a contact as if a salesperson had typed it into Clientify."""
        with self._lock:
            return self._create_contact(self._account(token), payload)

    # -- request processing (called from handler threads) ----------------------

    def _handle(self, *, method: str, target: str, headers: dict[str, str], raw_body: bytes) -> _Reply:
        split = urlsplit(target)
        query = parse_qs(split.query, keep_blank_values=True)
        if split.path.startswith(CONTROL_PREFIX + "/"):
            return self._control(method, split.path[len(CONTROL_PREFIX) :], raw_body)
        if not split.path.startswith(API_PREFIX + "/"):
            return _Reply(404, {"detail": "Not found."})
        path = split.path[len(API_PREFIX) :]
        try:
            body: Any = json.loads(raw_body) if raw_body else None
            body_error = None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            body, body_error = raw_body.decode("utf-8", "replace"), f"JSON parse error - {exc}"

        with self._lock:
            fault = self._pick_fault(method, path)
            self._requests.append(
                RecordedRequest(
                    method=method,
                    path=path,
                    query=query,
                    headers=headers,
                    body=body,
                    fault=fault.kind if fault else None,
                )
            )
        if fault is not None and fault.kind == "error":
            return _Reply(fault.status, {"detail": "A server error occurred."})
        if fault is not None and fault.kind == "rate_limit":
            headers_out = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            wait = f" Expected available in {fault.retry_after} seconds." if fault.retry_after else ""
            return _Reply(429, {"detail": f"Request was throttled.{wait}"}, headers_out)
        if fault is not None and fault.kind == "slow":
            self._stopping.wait(fault.delay)

        reply = self._api(method, path, query, headers, body, body_error)
        if fault is not None and fault.kind == "timeout_after_commit":
            reply.after, reply.delay = "delay", fault.delay
        elif fault is not None and fault.kind == "drop_after_commit":
            reply.after = "drop"
        return reply

    def _pick_fault(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if not fault.matches(method, path):
                continue
            # Draw only for matching faults so unrelated traffic does not shift the sequence.
            if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                continue
            if fault.times is not None:
                fault.times -= 1
            fault.hits += 1
            return fault
        return None

    def _api(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: Any,
        body_error: str | None,
    ) -> _Reply:
        auth = _header(headers, "Authorization")
        if not auth:
            return _unauthorized("Authentication credentials were not provided.")
        scheme, _, token = auth.partition(" ")
        if scheme != "Token" or not token.strip() or " " in token.strip():
            return _unauthorized("Invalid token header. No credentials provided.")
        with self._lock:
            account = self._accounts.get(token.strip())
            if account is None:
                return _unauthorized("Invalid token.")
            if body_error is not None:
                return _Reply(400, {"detail": body_error})
            try:
                return self._route(account, method, path, query, body)
            except _ValidationError as exc:
                return _Reply(400, exc.errors)

    def _route(
        self, account: _Account, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> _Reply:
        if path == "/settings/my-account/":
            return self._only(method, {"GET"}) or _Reply(200, copy.deepcopy(account.info))
        if path == "/contacts/":
            if method == "GET":
                return self._page(path, query, self._search_contacts(account, query))
            if method == "POST":
                return _Reply(201, self._create_contact(account, _object(body)))
            return _not_allowed(method)
        if path == "/deals/":
            if method == "GET":
                deals = sorted(account.deals.values(), key=_by_id)
                return self._page(path, query, [copy.deepcopy(d) for d in deals])
            if method == "POST":
                return _Reply(201, self._create_deal(account, _object(body)))
            return _not_allowed(method)
        if match := re.fullmatch(r"/deals/(\d+)/", path):
            deal = account.deals.get(int(match[1]))
            if deal is None:
                return _not_found()
            return self._only(method, {"GET"}) or _Reply(200, copy.deepcopy(deal))
        if match := re.fullmatch(r"/contacts/(\d+)/(?:(note|tags)/)?", path):
            contact = account.contacts.get(int(match[1]))
            if contact is None:
                return _not_found()
            if match[2] == "note":
                return self._only(method, {"POST"}) or _Reply(
                    201, self._add_note(account, contact, _object(body))
                )
            if match[2] == "tags":
                return self._contact_tags(method, path, query, contact, body)
            if method == "GET":
                return _Reply(200, self._render_contact(contact))
            if method in ("PUT", "PATCH"):
                self._update_contact(contact, _object(body))
                return _Reply(200, self._render_contact(contact))
            if method == "DELETE":
                del account.contacts[contact["id"]]
                account.notes.pop(contact["id"], None)
                return _Reply(204)
            return _not_allowed(method)
        return _not_found()

    # -- contacts ------------------------------------------------------------

    def _search_contacts(self, account: _Account, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        email = _first(query, "email").strip().casefold()
        text = _first(query, "query").strip().casefold()
        found = []
        for contact in sorted(account.contacts.values(), key=_by_id):
            emails = [e["email"].casefold() for e in contact["emails"]]
            # Clientify's filters search ("contains"), they do not test equality.
            if email and not any(email in e for e in emails):
                continue
            if text:
                haystack = " ".join(
                    [contact["first_name"], contact["last_name"], *emails]
                    + [p["phone"] for p in contact["phones"]]
                ).casefold()
                if text not in haystack:
                    continue
            found.append(self._render_contact(contact))
        return found

    def _create_contact(self, account: _Account, body: dict[str, Any]) -> dict[str, Any]:
        data = _validate_contact(body, partial=False)
        now = _now()
        contact: dict[str, Any] = {
            "id": next(self._ids),
            "first_name": data.get("first_name", ""),
            "last_name": data.get("last_name", ""),
            "status": data.get("status", "cold-lead"),
            "title": data.get("title", ""),
            "company": data.get("company"),
            "emails": [],
            "phones": [],
            "tags": [],
            "custom_fields": [],
            "contact_source": data.get("contact_source", ""),
            "gdpr_accept": data.get("gdpr_accept", False),
            "created": now,
            "modified": now,
        }
        self._apply_contact(contact, data)
        account.contacts[contact["id"]] = contact
        return self._render_contact(contact)

    def _update_contact(self, contact: dict[str, Any], body: dict[str, Any]) -> None:
        data = _validate_contact(body, partial=True)
        for key in ("first_name", "last_name", "status", "title", "company", "contact_source", "gdpr_accept"):
            if key in data:
                contact[key] = data[key]
        self._apply_contact(contact, data)
        contact["modified"] = _now()

    def _apply_contact(self, contact: dict[str, Any], data: dict[str, Any]) -> None:
        """Merge the list-like fields the way Clientify does: add, never silently drop."""
        known_emails = {e["email"].casefold() for e in contact["emails"]}
        if data.get("email") and data["email"].casefold() not in known_emails:
            contact["emails"].insert(0, {"id": next(self._ids), "type": 1, "email": data["email"]})
        if data.get("phone") and data["phone"] not in (p["phone"] for p in contact["phones"]):
            contact["phones"].insert(0, {"id": next(self._ids), "type": 1, "phone": data["phone"]})
        for tag in data.get("tags", []):
            if tag not in contact["tags"]:
                contact["tags"].append(tag)
        for item in data.get("custom_fields", []):
            existing = next((cf for cf in contact["custom_fields"] if cf["field"] == item["field"]), None)
            if existing is None:
                contact["custom_fields"].append(
                    {"id": next(self._ids), "field": item["field"], "value": item["value"]}
                )
            else:
                existing["value"] = item["value"]

    def _contact_tags(
        self, method: str, path: str, query: dict[str, list[str]], contact: dict[str, Any], body: Any
    ) -> _Reply:
        if method == "GET":
            return self._page(path, query, [{"name": t} for t in contact["tags"]])
        if method == "POST":
            data = _object(body)
            name = data.get("name")
            if not isinstance(name, str) or not name.strip():
                raise _ValidationError({"name": [REQUIRED if name is None else BLANK]})
            if name.strip() not in contact["tags"]:
                contact["tags"].append(name.strip())
            return _Reply(201, {"name": name.strip()})
        return _not_allowed(method)

    def _add_note(self, account: _Account, contact: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        errors = {key: [REQUIRED] for key in ("name", "comment") if key not in body}
        errors.update(
            {key: [BLANK] for key in ("name", "comment") if key in body and not str(body[key] or "").strip()}
        )
        if errors:
            raise _ValidationError(errors)
        note = {
            "id": next(self._ids),
            "name": str(body["name"]),
            "comment": str(body["comment"]),
            "contact": self._contact_url(contact["id"]),
            "created": _now(),
        }
        account.notes.setdefault(contact["id"], []).append(note)
        return copy.deepcopy(note)

    def _render_contact(self, contact: dict[str, Any]) -> dict[str, Any]:
        rendered = copy.deepcopy(contact)
        rendered["url"] = self._contact_url(contact["id"])
        return rendered

    def _contact_url(self, contact_id: int) -> str:
        return f"{self._api_root()}/contacts/{contact_id}/"

    # -- deals ---------------------------------------------------------------

    def _create_deal(self, account: _Account, body: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            errors["name"] = [REQUIRED if name is None else BLANK]
        contact = None
        contact_url = body.get("contact")
        if contact_url is None:
            errors["contact"] = [REQUIRED]
        elif not isinstance(contact_url, str) or not (match := _CONTACT_URL_RE.search(contact_url)):
            errors["contact"] = ["Invalid hyperlink - No URL match."]
        elif (contact := account.contacts.get(int(match[1]))) is None:
            errors["contact"] = ["Invalid hyperlink - Object does not exist."]
        amount = Decimal(0)
        if body.get("amount") is not None:
            try:
                amount = Decimal(str(body["amount"]))
                if not amount.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                errors["amount"] = ["A valid number is required."]
        if errors:
            raise _ValidationError(errors)
        assert contact is not None
        deal_id = next(self._ids)
        deal = {
            "id": deal_id,
            "url": f"{self._api_root()}/deals/{deal_id}/",
            "name": name.strip(),
            "amount": str(amount.quantize(Decimal("0.01"))),
            "currency": body.get("currency") or "EUR",
            "contact": self._contact_url(contact["id"]),
            "contact_name": f"{contact['first_name']} {contact['last_name']}".strip(),
            "contact_email": contact["emails"][0]["email"] if contact["emails"] else "",
            "pipeline_desc": body.get("pipeline_desc") or "Por defecto",
            "pipeline_stage_desc": body.get("pipeline_stage_desc") or "Entrevista de evaluación",
            "deal_source": body.get("deal_source") or "",
            "custom_fields": list(body.get("custom_fields") or []),
            "status": 1,
            "status_desc": "Open",
            "created": _now(),
        }
        account.deals[deal_id] = deal
        return copy.deepcopy(deal)

    # -- helpers -------------------------------------------------------------

    def _page(self, path: str, query: dict[str, list[str]], items: list[dict[str, Any]]) -> _Reply:
        try:
            page = int(_first(query, "page") or 1)
            size = min(int(_first(query, "page_size") or self._page_size), 1000)
            if page < 1 or size < 1:
                raise ValueError
        except ValueError:
            return _Reply(404, {"detail": "Invalid page."})
        start = (page - 1) * size
        if start and start >= len(items):
            return _Reply(404, {"detail": "Invalid page."})

        def link(number: int) -> str:
            params = {k: v[0] for k, v in query.items() if k != "page"}
            if number > 1:
                params["page"] = str(number)
            suffix = f"?{urlencode(params)}" if params else ""
            return f"{self._api_root()}{path}{suffix}"

        return _Reply(
            200,
            {
                "count": len(items),
                "next": link(page + 1) if start + size < len(items) else None,
                "previous": link(page - 1) if page > 1 else None,
                "results": items[start : start + size],
            },
        )

    def _only(self, method: str, allowed: set[str]) -> _Reply | None:
        return None if method in allowed else _not_allowed(method)

    def _api_root(self) -> str:
        return self.base_url if self._server is not None else f"http://{self._host}{API_PREFIX}"

    def _account(self, token: str | None) -> _Account:
        return self._accounts[token or self._tokens[0]]

    def _new_account(self, token: str) -> _Account:
        number = len(self._accounts) + 1
        return _Account(
            token=token,
            info={
                "id": number,
                "username": f"agencia{number}",
                "email": f"agencia{number}@example.com",
                "first_name": "Agencia",
                "last_name": str(number),
                "company_name": f"Agencia {number}",
            },
        )

    def _reset_state(self) -> None:
        self._rng = random.Random(self._seed)
        self._ids = itertools.count(1)
        self._faults: list[Fault] = []
        self._requests: list[RecordedRequest] = []
        self._accounts: dict[str, _Account] = {}
        for token in self._tokens:
            self._accounts[token] = self._new_account(token)

    def _control(self, method: str, path: str, raw_body: bytes) -> _Reply:
        """The out-of-process equivalent of the test controls above."""
        if path == "/faults" and method == "POST":
            try:
                options = json.loads(raw_body or b"{}")
                fault = self.inject(**options)
            except (TypeError, ValueError, re.error) as exc:
                return _Reply(400, {"detail": str(exc)})
            return _Reply(201, {"kind": fault.kind, "times": fault.times})
        if path == "/faults" and method == "DELETE":
            self.clear_faults()
            return _Reply(204)
        if path == "/reset" and method == "POST":
            self.reset()
            return _Reply(204)
        if path == "/state" and method == "GET":
            with self._lock:
                state = {
                    token: {
                        "contacts": self.contacts(token=token),
                        "deals": self.deals(token=token),
                        "notes": {str(cid): notes for cid, notes in account.notes.items()},
                    }
                    for token, account in self._accounts.items()
                }
            return _Reply(200, state)
        return _not_found()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients pool connections
    # Headers and body leave in separate writes; without this, Nagle plus delayed ACKs
    # add ~40 ms to every kept-alive request.
    disable_nagle_algorithm = True
    server_version = "ClientifyEmulator/1"
    emulator: ClientifyEmulator

    def do_GET(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        reply = self.emulator._handle(
            method=self.command, target=self.path, headers=dict(self.headers.items()), raw_body=raw_body
        )
        if reply.after == "drop":
            # The write is committed; the client sees the connection die without an answer.
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if reply.after == "delay":
            self.close_connection = True
            if self.emulator._stopping.wait(reply.delay):
                return
        try:
            self._send(reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up first, as intended

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _send(self, reply: _Reply) -> None:
        payload = b"" if reply.body is None else json.dumps(reply.body, ensure_ascii=False).encode()
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if payload:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: pytest output is for failures, and requests are recorded anyway."""


def _validate_contact(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """DRF-style validation of a contact body; unknown keys are ignored, as DRF does."""
    errors: dict[str, Any] = {}
    data: dict[str, Any] = {}
    for key, limit in (("first_name", 100), ("last_name", 100), ("title", 100), ("company", 200)):
        value = body.get(key)
        if value is None:
            if key == "first_name" and not partial:
                errors[key] = [REQUIRED] if key not in body else ["This field may not be null."]
            continue
        if not isinstance(value, str):
            errors[key] = ["Not a valid string."]
        elif key == "first_name" and not value.strip():
            errors[key] = [BLANK]
        elif len(value) > limit:
            errors[key] = [f"Ensure this field has no more than {limit} characters."]
        else:
            data[key] = value.strip()
    if body.get("email") not in (None, ""):
        if isinstance(body["email"], str) and _EMAIL_RE.match(body["email"].strip()):
            data["email"] = body["email"].strip()
        else:
            errors["email"] = ["Enter a valid email address."]
    if body.get("phone") not in (None, ""):
        if isinstance(body["phone"], str) and re.fullmatch(r"[+0-9 ().-]{3,30}", body["phone"].strip()):
            data["phone"] = body["phone"].strip()
        else:
            errors["phone"] = ["Enter a valid phone number."]
    if "status" in body:
        if body["status"] in CONTACT_STATUSES:
            data["status"] = body["status"]
        else:
            errors["status"] = [f'"{body["status"]}" is not a valid choice.']
    if "tags" in body:
        tags = body["tags"]
        if not isinstance(tags, list):
            errors["tags"] = [f'Expected a list of items but got type "{type(tags).__name__}".']
        elif not all(isinstance(t, str) and t.strip() for t in tags):
            errors["tags"] = ["Each tag must be a non-empty string."]
        else:
            data["tags"] = [t.strip() for t in tags]
    if "custom_fields" in body:
        items = body["custom_fields"]
        if not isinstance(items, list) or not all(
            isinstance(i, dict) and isinstance(i.get("field"), str) and i["field"] and "value" in i
            for i in items
        ):
            errors["custom_fields"] = ['Expected a list of {"field", "value"} objects.']
        else:
            data["custom_fields"] = [
                {"field": i["field"], "value": "" if i["value"] is None else str(i["value"])} for i in items
            ]
    if "gdpr_accept" in body:
        if isinstance(body["gdpr_accept"], bool):
            data["gdpr_accept"] = body["gdpr_accept"]
        else:
            errors["gdpr_accept"] = ["Must be a valid boolean."]
    if isinstance(body.get("contact_source"), str):
        data["contact_source"] = body["contact_source"]
    if errors:
        raise _ValidationError(errors)
    return data


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _ValidationError(
            {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(body).__name__}."]}
        )
    return body


def _header(headers: dict[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), "")


def _first(query: dict[str, list[str]], key: str) -> str:
    return query.get(key, [""])[0]


def _by_id(item: dict[str, Any]) -> int:
    return item["id"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _unauthorized(detail: str) -> _Reply:
    return _Reply(401, {"detail": detail}, {"WWW-Authenticate": "Token"})


def _not_found() -> _Reply:
    return _Reply(404, {"detail": "Not found."})


def _not_allowed(method: str) -> _Reply:
    return _Reply(405, {"detail": f'Method "{method}" not allowed.'})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a Clientify API v1 emulator on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", action="append", help="an accepted API token (repeatable)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault RNG")
    args = parser.parse_args(argv)
    emulator = ClientifyEmulator(
        tokens=args.token or ["test-token"], seed=args.seed, host=args.host, port=args.port
    )
    print(emulator.start(), flush=True)  # the first line is the API root, for scripts to read
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
