"""The two sockets: the lead's (`/ws/v1/chat`, CONTRACT §3.1) and staff's
(`/ws/v1/monitor`, §4). They parse a frame, call one service, and hand what
it announces to the hub; no business rules live here."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import structlog
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from chat import frames as F
from chat import services
from chat.guard import looks_like_injection
from chat.hub import Outbox, Sink, hub
from chat.selectors import access_conversation, conversation_replay
from chat.streaming import start_reply
from chat.visitor import visitor_token_verify
from project import metrics
from project.api.errors import ApplicationError
from project.db import errors as db_errors
from project.db.aio import db_async
from project.ratelimit import bucket_take
from tenancy.actors import StaffActor, VisitorActor
from tenancy.origins import origin_allowed_for_widget
from tenancy.selectors import agency_origin_patterns

log = structlog.get_logger(__name__)

# What each lead socket keeps from its authentication (its agency's settings and
# allowed origins), one object per agency while they stay equal: an idle socket
# holds ~25 KB in all, and a copy of each was ~3 KB of it (bench/README.md,
# "Streaming, 2026-12-07 (07:01–08:05)"). Readers never change them.
_agency_values: dict[tuple[str, str], object] = {}


def _shared(agency_id, kind: str, value):
    key = (str(agency_id), kind)
    held = _agency_values.get(key)
    if held == value:
        return held
    _agency_values[key] = value
    return value

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_AUTH_TIMEOUT = 4408
CLOSE_TOO_LARGE = 4413
CLOSE_RATE_LIMITED = 4429
# RFC 6455 "try again later": the database is away for a moment (a restart, a
# failover). The client reconnects with backoff and resends what was not
# acknowledged; nothing half-done was stored.
CLOSE_TRY_AGAIN = 1013


class BadFrame(Exception):
    pass


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _uuid_field(frame: dict, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(frame[name]))
    except (KeyError, ValueError, TypeError):
        raise BadFrame(f"'{name}' debe ser un UUID.") from None


def _text_field(frame: dict, name: str) -> str:
    value = frame.get(name)
    if not isinstance(value, str):
        raise BadFrame(f"Falta '{name}' o no es texto.")
    return value


class _JsonSocket(AsyncWebsocketConsumer):
    """Shared framing: size limit, JSON parsing, the auth deadline."""

    kind = "socket"
    # Sockets are fed by the process hub (chat.hub), not by a channel-layer
    # channel each: no alias means no per-socket Redis receive loop.
    channel_layer_alias = "__hub_only__"

    async def connect(self) -> None:
        self.authenticated = False
        self._auth_timer: asyncio.TimerHandle | None = None
        await self.accept()
        metrics.OPEN_SOCKETS.labels(self.kind).inc()
        loop = asyncio.get_running_loop()
        self._auth_timer = loop.call_later(settings.CHAT_AUTH_TIMEOUT_SECONDS, self._auth_deadline)

    def _auth_deadline(self) -> None:
        if not self.authenticated:
            asyncio.ensure_future(self.close(code=CLOSE_AUTH_TIMEOUT))

    async def disconnect(self, code) -> None:
        metrics.OPEN_SOCKETS.labels(self.kind).dec()
        if self._auth_timer is not None:
            self._auth_timer.cancel()

    async def dispatch(self, message) -> None:
        # Channels' dispatch first awaits aclose_old_connections(), which runs on
        # asgiref's one shared thread: every frame of every socket then queued
        # behind all the process's database work. Ours runs on db_async's
        # threads, and each of those calls closes its thread's old or broken
        # connections before and after (project/db/aio.py): the same guarantee.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    def send_text(self, text: str):
        """One text frame, straight to the server: the hub's hot path skips
        Channels' two `send()` layers (CONTRACT frames are always text)."""
        return self.base_send({"type": "websocket.send", "text": text})

    async def send_json(self, frame: dict) -> None:
        await self.send_text(orjson.dumps(frame).decode())

    async def send_error(self, code: str, message: str) -> None:
        await self.send_json(F.error_frame(code, message))

    async def receive(self, text_data=None, bytes_data=None) -> None:
        raw = text_data if text_data is not None else bytes_data
        size = len(raw.encode("utf-8")) if isinstance(raw, str) else len(raw or b"")
        if size > settings.CHAT_MAX_FRAME_BYTES:
            await self.close(code=CLOSE_TOO_LARGE)
            return
        try:
            if text_data is None:
                raise BadFrame("Solo se aceptan frames de texto JSON.")
            try:
                frame = orjson.loads(text_data)
            except orjson.JSONDecodeError:
                raise BadFrame("El frame no es JSON válido.") from None
            if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
                raise BadFrame("El frame debe ser un objeto con 'type'.")
            if not self.authenticated:
                if frame["type"] != "auth":
                    await self.close(code=CLOSE_UNAUTHENTICATED)
                    return
                await self.authenticate(frame)
                return
            await self.handle(frame)
        except BadFrame as exc:
            await self.send_error("bad_frame", str(exc))
        except ApplicationError as exc:
            await self.send_error(exc.code, exc.message)
        except db_errors.TRANSIENT as exc:
            log.warning("socket_database_unavailable", socket=self.kind, error=str(exc))
            await self.close(code=CLOSE_TRY_AGAIN)

    async def authenticate(self, frame: dict) -> None:
        raise NotImplementedError

    async def handle(self, frame: dict) -> None:
        raise NotImplementedError

    def _authenticated(self) -> None:
        self.authenticated = True
        if self._auth_timer is not None:
            self._auth_timer.cancel()
            self._auth_timer = None
        self._forget_handshake_headers()

    def _forget_handshake_headers(self) -> None:
        # The handshake's headers are read at connect and authentication only. The
        # list is also the server's (Channels' routing copies the scope dict, not
        # its values), so emptied in place it is ~2.5 KB less that every idle
        # socket of a browser holds for hours (bench/README.md, the idle socket).
        headers = self.scope.get("headers")
        if isinstance(headers, list):
            headers.clear()


class LeadConsumer(_JsonSocket):
    kind = "lead"

    async def connect(self) -> None:
        self.visitor: VisitorActor | None = None
        self.sink: Sink | None = None
        self.origin = _header(self.scope, b"origin")
        self.strikes = 0
        await super().connect()
        if not self.origin:
            await self.close(code=CLOSE_FORBIDDEN)

    async def authenticate(self, frame: dict) -> None:
        visitor = visitor_token_verify(frame.get("token"))
        if visitor is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        last_seq = frame.get("last_seq") or 0
        if not isinstance(last_seq, int) or last_seq < 0:
            await self.send_error("bad_frame", "'last_seq' debe ser un entero ≥ 0.")
            last_seq = 0
        try:
            conversation, patterns, key_active = await db_async(self._load)(visitor)
        except ApplicationError:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not origin_allowed_for_widget(self.origin, patterns, base_url=self._own_base()) or not key_active:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self._authenticated()
        self.visitor = visitor
        self.key_id = str(conversation.widget_key_id) if conversation.widget_key_id else None
        self.agency_settings = conversation.agency_settings
        self.origin_patterns = patterns
        conv = str(visitor.conversation_id)
        self.sink = Sink(self.send_text, conv, last_seq=last_seq, key_id=self.key_id)
        await hub.register_lead(str(visitor.agency_id), self)
        await hub.attach(self.sink)
        replay = await db_async(conversation_replay)(
            agency_id=visitor.agency_id, conversation_id=visitor.conversation_id, after_seq=last_seq, include_staff_only=False
        )
        await self.sink.go_live(replay, hub.live_turn(conv))
        opening = await db_async(services.conversation_claim_opening)(visitor=visitor)
        if opening is not None:
            await self._announce(opening)

    def _own_base(self) -> str:
        """This service's base URL as the socket was reached (the widget
        preview in the console runs on it)."""
        if settings.PUBLIC_BASE_URL:
            return settings.PUBLIC_BASE_URL
        host = _header(self.scope, b"host")
        return f"{'https' if self.scope.get('scheme') == 'wss' else 'http'}://{host}" if host else ""

    @staticmethod
    def _load(visitor: VisitorActor):
        conversation = access_conversation(visitor, visitor.conversation_id)
        key_active = True
        if conversation.widget_key_id:
            from django_scopes import scope

            from tenancy.models import WidgetKey

            with scope(agency=visitor.agency_id):
                key_active = WidgetKey.objects.filter(id=conversation.widget_key_id, revoked_at__isnull=True).exists()
        conversation.agency_settings = _shared(visitor.agency_id, "settings", dict(conversation.agency.settings or {}))
        if conversation.is_preview:
            # A flow preview runs in the console, on this service's own origin (recorded when it was opened).
            return conversation, (conversation.origin,), key_active
        return conversation, _shared(visitor.agency_id, "origins", tuple(agency_origin_patterns(visitor.agency_id))), key_active

    async def disconnect(self, code) -> None:
        await super().disconnect(code)
        if self.sink is not None:
            await hub.detach(self.sink)
        if self.visitor is not None:
            await hub.unregister_lead(str(self.visitor.agency_id), self)

    async def handle(self, frame: dict) -> None:
        kind = frame["type"]
        visitor = self.visitor
        conv, agency = str(visitor.conversation_id), str(visitor.agency_id)
        if kind == "message":
            client_id = _uuid_field(frame, "client_id")
            text = _text_field(frame, "text")
            if len(text) > settings.CHAT_MAX_TEXT_CHARS:
                await self.send_error("too_long", f"El mensaje supera {settings.CHAT_MAX_TEXT_CHARS} caracteres.")
                return
            if not await self._within_rate():
                return
            hints = await self._llm_hints(text)
            from chat.llm.registry import provider_for_agency

            # The offline provider reads only the scripted text: no history to load for it.
            with_history = provider_for_agency(self.agency_settings).name != "offline"
            effects = await db_async(services.lead_message_receive)(
                visitor=visitor, client_id=client_id, text=text, hints=hints, with_history=with_history
            )
            if effects.duplicate:
                # The acknowledgement again, to this socket only.
                await self.send_json(effects.frames[0])
                return
            await hub.publish(conv, agency, effects.frames, effects.summary)
            if looks_like_injection(text):
                await hub.publish_notice(conv, {"type": "flagged", "turn": effects.frames[0]["turn"], "role": "lead",
                                                "reason": "possible_prompt_injection"}, staff_only=True)
            if effects.reply is not None:
                start_reply(conversation_id=conv, agency_id=agency, plan=effects.reply, agency_settings=self.agency_settings,
                            origin_patterns=self.origin_patterns)
        elif kind == "stop":
            await hub.request_stop(conv, reason="stop")
        elif kind == "edit":
            from qualification.services import qualification_edit

            field = _text_field(frame, "field")
            effects = await db_async(qualification_edit)(visitor=visitor, field=field)
            await self._announce(effects)
        elif kind == "consent":
            from qualification.services import qualification_consent

            granted = frame.get("granted")
            policy = frame.get("policy")
            if not isinstance(granted, bool) or not isinstance(policy, str) or not policy:
                raise BadFrame("'consent' necesita 'granted' (booleano) y 'policy' (versión).")
            effects = await db_async(qualification_consent)(visitor=visitor, granted=granted, policy=policy)
            await self._announce(effects)
        elif kind == "typing":
            await hub.publish_notice(conv, {"type": "typing", "role": "lead"}, staff_only=True)
        elif kind == "auth":
            raise BadFrame("Ya estás autenticado.")
        else:
            raise BadFrame(f"Tipo de frame desconocido: {kind!r}.")

    async def _llm_hints(self, text: str) -> dict | None:
        """With a real LLM (and its breaker closed), let it find the answers in
        the message first; the rules check whatever it proposes."""
        from chat.llm.breaker import default_breaker
        from chat.llm.quota import over_quota
        from chat.llm.registry import provider_for_agency
        from qualification.extraction import llm_extract
        from qualification.services import qualification_context

        provider = provider_for_agency(self.agency_settings)
        if provider.name == "offline" or default_breaker.state(str(self.visitor.agency_id)) != "closed":
            return None
        if await over_quota(self.visitor.agency_id, self.agency_settings):
            return None
        context = await db_async(qualification_context)(visitor=self.visitor)
        if context is None:
            return None
        return await llm_extract(provider=provider, agency_id=self.visitor.agency_id, text=text, **context)

    async def _announce(self, effects) -> None:
        conv, agency = str(effects.conversation_id), str(effects.agency_id)
        if effects.reply is not None:
            await hub.request_stop(conv, reason="superseded")
        await hub.publish(conv, agency, effects.frames, effects.summary)
        if effects.reply is not None:
            start_reply(conversation_id=conv, agency_id=agency, plan=effects.reply, agency_settings=self.agency_settings,
                        origin_patterns=self.origin_patterns)

    async def _within_rate(self) -> bool:
        rate = settings.CHAT_RATE_MESSAGES / settings.CHAT_RATE_WINDOW_SECONDS
        try:
            verdict = await bucket_take(
                f"msg:{self.visitor.conversation_id}", rate_per_second=rate, burst=settings.CHAT_RATE_BURST
            )
        except Exception as exc:  # noqa: BLE001 - Redis away: a lead's message matters more than the limit
            log.warning("chat_rate_limit_unavailable", error=str(exc))
            return True
        if verdict.allowed:
            return True
        self.strikes += 1
        if self.strikes >= settings.CHAT_RATE_STRIKES_BEFORE_CLOSE:
            await self.close(code=CLOSE_RATE_LIMITED)
        else:
            await self.send_error("rate_limited", f"Vas muy rápido: espera {verdict.retry_after} s.")
        return False

    async def widget_key_revoked(self, key_id: str) -> None:
        if self.key_id == key_id:
            await self.close(code=CLOSE_FORBIDDEN)


class MonitorConsumer(_JsonSocket):
    """A staff member's live view of their agency (CONTRACT §4)."""

    kind = "monitor"
    TOKEN_RECHECK_SECONDS = 60

    async def connect(self) -> None:
        self.actor: StaffActor | None = None
        self.token: str | None = None
        self.subscriptions: dict[str, Sink] = {}
        self._recheck: asyncio.Task | None = None
        # Every frame to this socket goes through one outbox, so they keep their order.
        self.outbox = Outbox(self.send_text, window=settings.CHAT_STAFF_WINDOW_MS / 1000)
        await super().connect()

    async def send_json(self, frame: dict) -> None:
        self.outbox.put(None, frame)

    async def authenticate(self, frame: dict) -> None:
        actor = await self._verify(frame.get("token"))
        if actor is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self._authenticated()
        self.actor, self.token = actor, frame.get("token")
        await hub.register_staff(str(actor.agency_id), self)
        self._recheck = asyncio.ensure_future(self._recheck_forever())
        await self.send_json({"type": "ready", "agency": str(actor.agency_id), "role": actor.role})

    @staticmethod
    async def _verify(token) -> StaffActor | None:
        from tenancy.services import Unauthenticated, actor_from_access_token

        if not isinstance(token, str):
            return None
        try:
            return await db_async(actor_from_access_token)(token)
        except Unauthenticated:
            return None

    async def _recheck_forever(self) -> None:
        """A revoked or expired token closes the socket within a minute even if
        the staff member sends nothing."""
        while True:
            await asyncio.sleep(self.TOKEN_RECHECK_SECONDS)
            if await self._verify(self.token) is None:
                await self.close(code=CLOSE_UNAUTHENTICATED)
                return

    async def disconnect(self, code) -> None:
        await super().disconnect(code)
        self.outbox.close()
        if self._recheck is not None:
            self._recheck.cancel()
        for conv, sink in list(self.subscriptions.items()):
            await hub.detach(sink)
            await self._announce_presence(conv, watching=False)
        self.subscriptions.clear()
        if self.actor is not None:
            await hub.unregister_staff(str(self.actor.agency_id), self)

    async def conversation_updated(self, summary: dict) -> None:
        await self.send_json({"type": "conversation.updated", "conversation": summary})

    async def handle(self, frame: dict) -> None:
        # Every frame re-checks the token: a revoked login stops at its next frame.
        actor = await self._verify(self.token)
        if actor is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.actor = actor
        kind = frame["type"]
        if kind == "subscribe":
            await self._subscribe(_uuid_field(frame, "conversation"))
        elif kind == "unsubscribe":
            conv = str(_uuid_field(frame, "conversation"))
            sink = self.subscriptions.pop(conv, None)
            if sink is not None:
                await hub.detach(sink)
                await self._announce_presence(conv, watching=False)
        elif kind == "takeover":
            conv = _uuid_field(frame, "conversation")
            effects = await db_async(services.conversation_takeover)(actor=actor, conversation_id=conv)
            if not effects.duplicate:
                # Stop first, carrying the handoff: it follows the last delta and precedes the
                # stopped turn everywhere (publish then re-sends it, dropped by seq where it arrived).
                await hub.request_stop(str(conv), reason="takeover", frames=effects.frames)
                await hub.publish(str(conv), str(actor.agency_id), effects.frames, effects.summary)
            await self.send_json({"type": "takeover.ok", "conversation": str(conv)})
        elif kind == "release":
            conv = _uuid_field(frame, "conversation")
            effects = await db_async(services.conversation_release)(actor=actor, conversation_id=conv)
            await hub.publish(str(conv), str(actor.agency_id), effects.frames, effects.summary)
            if effects.reply is not None:
                start_reply(conversation_id=str(conv), agency_id=str(actor.agency_id), plan=effects.reply)
            await self.send_json({"type": "release.ok", "conversation": str(conv)})
        elif kind == "message":
            await self._agent_message(_uuid_field(frame, "conversation"), _text_field(frame, "text"))
        elif kind == "note":
            conv = _uuid_field(frame, "conversation")
            effects = await db_async(services.note_add)(
                actor=actor, conversation_id=conv, text=_text_field(frame, "text")
            )
            await hub.publish(str(conv), str(actor.agency_id), effects.frames)
        else:
            raise BadFrame(f"Tipo de frame desconocido: {kind!r}.")

    async def _subscribe(self, conversation_id: uuid.UUID) -> None:
        conv = str(conversation_id)
        if conv in self.subscriptions:
            return
        actor = self.actor
        conversation = await db_async(access_conversation)(actor, conversation_id)
        sink = Sink(self.send_text, conv, staff=True, tag=True, outbox=self.outbox)
        self.subscriptions[conv] = sink
        await hub.attach(sink)
        replay = await db_async(conversation_replay)(
            agency_id=actor.agency_id, conversation_id=conversation.id, after_seq=0, include_staff_only=True
        )
        await sink.go_live(replay, hub.live_turn(conv))
        await self._announce_presence(conv, watching=True)

    async def _announce_presence(self, conv: str, *, watching: bool) -> None:
        from chat.presence import presence_frame, presence_update

        watchers = await presence_update(conv, user_id=str(self.actor.user_id), name=self.actor.name, watching=watching)
        await hub.publish_notice(conv, presence_frame(watchers), staff_only=True)

    async def _agent_message(self, conversation_id: uuid.UUID, text: str) -> None:
        actor = self.actor
        text = text.strip()
        if not text or len(text) > settings.CHAT_MAX_TEXT_CHARS:
            raise BadFrame("El mensaje está vacío o es demasiado largo.")
        await db_async(services.agent_turn_precheck)(actor=actor, conversation_id=conversation_id)
        conv, agency = str(conversation_id), str(actor.agency_id)
        record = services.TurnRecord(
            turn_id=uuid.uuid4(), role="agent", text=text, agent_user_id=actor.user_id, agent_name=actor.name
        )
        await hub.publish_notice(conv, F.turn_started_frame(turn_id=record.turn_id, role="agent", agent_name=actor.name))
        effects = await db_async(services.turn_complete)(
            agency_id=actor.agency_id, conversation_id=conversation_id, record=record
        )
        await hub.publish(conv, agency, effects.frames, effects.summary)
