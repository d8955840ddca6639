"""Generating an assistant turn: stream from the agency's provider, fan out
through the hub, store the turn once at the end.

A turn runs as a task of the process that holds the lead's socket and outlives
that socket (a lead who drops mid-stream finds the whole reply on resume).
Stop (the lead's `stop`, or a staff takeover) cancels the upstream read at
once and stores what was streamed with `stopped: true`. When the LLM fails,
the lead gets `llm_unavailable` and the reply continues on the offline
provider, so a lead is never stuck.
"""

from __future__ import annotations

import asyncio
import functools
import time
import uuid

import structlog
from django.conf import settings
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from chat import frames as F
from chat.hub import hub
from chat.services import Effects, ReplyPlan, TurnRecord, turn_complete
from project import metrics
from project.db import errors as db_errors
from project.db.aio import db_async

log = structlog.get_logger(__name__)

# conversation id -> the runner streaming in this process
runners: dict[str, "TurnRunner"] = {}
_tasks: set[asyncio.Task] = set()
_chains: dict[str, asyncio.Task] = {}


def _breaker():
    from chat.llm.breaker import default_breaker

    return default_breaker


class TurnRunner:
    def __init__(self, *, conversation_id: str, agency_id: str, plan: ReplyPlan, agency_settings: dict | None = None,
                 origin_patterns: list[str] | None = None):
        self.conversation_id = conversation_id
        self.agency_id = agency_id
        self.plan = plan
        self.agency_settings = agency_settings or {}
        self.settings_known = agency_settings is not None
        self.origin_patterns = origin_patterns
        self.turn_id = str(uuid.uuid4())
        self._stop = asyncio.Event()
        self.stop_reason: str | None = None
        self.turn = None
        self.provider_name = "offline"
        self.flagged = False

    def stop(self, *, reason: str) -> None:
        """Stop now: the hub sends no further delta of this turn from this call on."""
        self.stop_reason = reason
        if self.turn is not None:
            self.turn.closed = True
        self._stop.set()

    async def run(self) -> None:
        from chat.llm.base import ReplyRequest
        from chat.llm.offline import OfflineProvider
        from chat.llm.registry import provider_for_agency

        runners[self.conversation_id] = self
        try:
            from chat.llm.quota import over_quota

            provider = provider_for_agency(self.agency_settings)
            breaker = _breaker()
            # The lead socket's check for this message a moment ago is in over_quota's one-second copy.
            if provider.name != "offline" and (
                await over_quota(self.agency_id, self.agency_settings) or not breaker.allow(self.agency_id)
            ):
                provider = OfflineProvider()
            request = ReplyRequest(messages=self.plan.messages, scripted=self.plan.scripted)
            turn = self.turn = await hub.turn_started(self.conversation_id, self.turn_id, "assistant")
            if self._stop.is_set():
                turn.closed = True
            started = time.monotonic()
            outcome, usage, first_token = await self._pump(provider, request, turn)
            if outcome == "failed":
                breaker.record_failure(self.agency_id)
                await hub.publish_notice(self.conversation_id, F.error_frame(
                    "llm_unavailable", "El asistente tiene problemas; seguimos con respuestas guiadas."))
                if turn.length == 0:
                    # Nothing shown yet: the same turn continues offline.
                    provider = OfflineProvider()
                    outcome, usage, first_token = await self._pump(provider, request, turn)
                else:
                    await self._store(turn, provider.name, stopped=True, failed=True, usage=usage,
                                      first_token=first_token, started=started)
                    turn = self.turn = await hub.turn_started(self.conversation_id, str(uuid.uuid4()), "assistant")
                    provider = OfflineProvider()
                    self.turn_id = turn.turn_id
                    outcome, usage, first_token = await self._pump(provider, request, turn)
            elif provider.name != "offline":
                breaker.record_success(self.agency_id)
            await self._store(turn, provider.name, stopped=outcome == "stopped", failed=outcome == "failed",
                              usage=usage, first_token=first_token, started=started)
            metrics.TURNS_STREAMED.labels(provider.name, outcome).inc()
        except Exception as exc:
            log.exception("turn_failed", conversation=self.conversation_id)
            await self._salvage(exc)
            raise
        finally:
            if runners.get(self.conversation_id) is self:
                del runners[self.conversation_id]

    async def _salvage(self, exc: Exception) -> None:
        """After an unexpected failure, keep what was streamed (as a failed
        turn) and end the live turn: a socket joining later must not be shown
        a reply that never completes."""
        turn = self.turn
        if turn is None:
            return
        turn.closed = True
        # A database that stayed away through _store's retries will not be back for one more.
        if not turn.stored and not isinstance(exc, db_errors.TRANSIENT):
            try:
                await self._store(turn, self.provider_name, stopped=True, failed=True, usage=None, first_token=None,
                                  started=time.monotonic())
                return
            except Exception:  # noqa: BLE001 - the original failure is already logged and raised
                log.exception("turn_salvage_failed", conversation=self.conversation_id)
        await hub.turn_finished(self.conversation_id, turn)

    async def _pump(self, provider, request, turn) -> tuple[str, object, float | None]:
        """Stream into the hub, through the output guard, until done, stopped
        or failed. Returns the outcome."""
        from chat.guard import CanaryLeak
        from chat.llm.base import LLMUnavailable

        first_token: float | None = None
        started = time.monotonic()
        stream = None
        self.provider_name = provider.name
        guard = await self._guard()

        async def read() -> None:
            nonlocal stream, first_token
            stream = await provider.stream_reply(request)
            async for piece in stream:
                if not piece:
                    continue
                if first_token is None:
                    first_token = time.monotonic() - started
                try:
                    safe = guard.feed(piece)
                except CanaryLeak:
                    if guard.leaked_prefix:
                        await hub.turn_delta(self.conversation_id, turn, guard.leaked_prefix)
                    self.flagged = True
                    self.stop(reason="guard")
                    return
                if safe:
                    await hub.turn_delta(self.conversation_id, turn, safe)
            rest = guard.finish()
            if rest:
                await hub.turn_delta(self.conversation_id, turn, rest)
            self.flagged = self.flagged or guard.flagged

        reader = asyncio.ensure_future(read())
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        usage = getattr(stream, "usage", None)
        if not reader.done():
            reader.cancel()
            try:
                await reader
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - we are stopping it
                pass
            if stream is not None:
                await _close_quietly(stream)
            return "stopped", usage, first_token
        exc = reader.exception()
        if exc is None:
            if self.stop_reason == "guard":
                await _close_quietly(stream)
                return "stopped", usage, first_token
            return "completed", getattr(stream, "usage", None), first_token
        if isinstance(exc, LLMUnavailable):
            log.warning("llm_unavailable", conversation=self.conversation_id, reason=str(exc))
            if stream is not None:
                await _close_quietly(stream)
            return "failed", usage, first_token
        raise exc

    async def _guard(self):
        from django.conf import settings

        from chat.guard import OutputGuard

        if self.settings_known and self.origin_patterns is not None:
            # The lead's socket read both at auth: no database round trip per reply.
            patterns = _allowed_link_patterns(self.agency_id, self.agency_settings, self.origin_patterns)
        else:
            patterns = await db_async(_allowed_link_patterns)(
                self.agency_id, self.agency_settings if self.settings_known else None)
        return OutputGuard(canary=settings.PROMPT_CANARY, allowed_origins=patterns)

    async def _store(self, turn, provider_name: str, *, stopped: bool, failed: bool, usage, first_token, started) -> None:
        record = TurnRecord(
            turn_id=uuid.UUID(turn.turn_id), role="assistant", text=turn.text, stopped=stopped, failed=failed,
            provider=provider_name,
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
            first_token_ms=int(first_token * 1000) if first_token is not None else None,
            duration_ms=int((time.monotonic() - started) * 1000), flagged=self.flagged,
        )
        if provider_name != "offline":
            from chat.llm.quota import tokens_add

            try:
                await tokens_add(self.agency_id, record.prompt_tokens + record.completion_tokens)
            except Exception as exc:  # noqa: BLE001 - Redis away: the day's count misses a turn, the lead loses nothing
                log.warning("llm_quota_add_failed", conversation=self.conversation_id, error=str(exc))
        store = functools.partial(db_async(turn_complete), agency_id=uuid.UUID(self.agency_id),
                                  conversation_id=uuid.UUID(self.conversation_id), record=record)
        try:
            effects: Effects = await store()
        except db_errors.TRANSIENT as exc:
            # A database restart must not lose a reply the lead has already read: keep
            # trying (turn_complete is idempotent by turn id), the turn still live meanwhile.
            # Only then tenacity: its retrying state is a few hundred objects in reference
            # cycles, and built for every reply it was a share of what the collector freed.
            log.warning("turn_store_retry", conversation=self.conversation_id, attempt=1, error=str(exc))
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(db_errors.TRANSIENT),
                wait=wait_exponential(multiplier=0.25, max=5),
                stop=stop_after_delay(settings.CHAT_TURN_STORE_RETRY_SECONDS),
                before_sleep=lambda state: log.warning("turn_store_retry", conversation=self.conversation_id,
                                                       attempt=state.attempt_number + 1,
                                                       error=str(state.outcome.exception())),
                reraise=True,
            ):
                with attempt:
                    effects = await store()
        turn.stored = True
        await hub.turn_finished(self.conversation_id, turn)
        await hub.publish(self.conversation_id, self.agency_id, effects.frames, effects.summary)
        if self.flagged:
            await hub.publish_notice(self.conversation_id, {"type": "flagged", "turn": turn.turn_id, "role": "assistant",
                                                            "reason": "output_guard"}, staff_only=True)


def _allowed_link_patterns(agency_id, agency_settings: dict | None = None,
                           origin_patterns: list[str] | None = None) -> list[str]:
    """The agency's own sites, and its privacy policy's: links the assistant may
    show. `agency_settings` and `origin_patterns` (the lead's socket read both
    at auth, the same snapshot its Origin check uses) save the reads."""
    from django_scopes import scopes_disabled

    from tenancy.models import Agency, default_settings
    from tenancy.origins import InvalidOrigin, normalize_origin
    from tenancy.selectors import agency_origin_patterns

    patterns = list(origin_patterns) if origin_patterns is not None else agency_origin_patterns(agency_id)
    if agency_settings is not None:
        policy = {**default_settings(), **agency_settings}.get("privacy_policy")
    else:
        with scopes_disabled():
            agency = Agency.objects.filter(id=agency_id).first()
        policy = agency.setting("privacy_policy") if agency else None
    url = (policy or {}).get("url") or ""
    if url:
        try:
            patterns.append(normalize_origin("/".join(url.split("/")[:3])))
        except InvalidOrigin:
            pass
    return patterns


async def _close_quietly(stream) -> None:
    try:
        await stream.aclose()
    except Exception:  # noqa: BLE001 - closing a broken stream may raise; nothing to save
        pass


def start_reply(*, conversation_id: str, agency_id: str, plan: ReplyPlan, agency_settings: dict | None = None,
                origin_patterns: list[str] | None = None) -> None:
    """Queue an assistant reply for a conversation. Replies of one conversation
    run one after another; a new one first stops the one streaming (what was
    said so far is kept)."""
    conversation_id, agency_id = str(conversation_id), str(agency_id)
    current = runners.get(conversation_id)
    if current is not None:
        current.stop(reason="superseded")
    previous = _chains.get(conversation_id)
    runner = TurnRunner(conversation_id=conversation_id, agency_id=agency_id, plan=plan, agency_settings=agency_settings,
                        origin_patterns=origin_patterns)

    async def chained() -> None:
        if previous is not None and not previous.done():
            try:
                await previous
            except Exception:  # noqa: BLE001 - the previous turn logged its own failure
                pass
        await runner.run()

    task = asyncio.get_running_loop().create_task(chained(), name=f"turn-{conversation_id}")
    _chains[conversation_id] = task
    _tasks.add(task)

    def _done(t: asyncio.Task) -> None:
        _tasks.discard(t)
        if _chains.get(conversation_id) is t:
            del _chains[conversation_id]

    task.add_done_callback(_done)


async def wait_idle(conversation_id: str, timeout: float = 10.0) -> None:
    """Wait until the conversation has no reply queued or streaming (tests, shutdown)."""
    task = _chains.get(str(conversation_id))
    if task is not None:
        await asyncio.wait_for(asyncio.shield(task), timeout)
