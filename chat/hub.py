"""The per-process fan-out of live conversation frames.

Measured (issue 13): a channel-layer send per token collapses at 50 streams.
So a turn is generated in the process that holds the lead's socket, and:

- `turn.delta` goes straight to the local sockets of that conversation;
- sockets in *other* processes (a second tab, staff watchers) get deltas in
  batches: one channel-layer message per remote process per short window,
  carrying every watched conversation's new text, and only while some remote
  process watches — Redis traffic grows with windows, not tokens;
- persisted frames (few) are delivered to local sockets at once and sent to
  the conversation's group for the other processes.

Each process joins the groups of the conversations it has sockets for with
one *process channel*, not one channel per socket. Sockets deduplicate by
`seq` and by delta `offset` (`Sink`), which is what makes joining mid-stream
and racing replays safe.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

import orjson
import structlog
from channels.layers import get_channel_layer
from django.conf import settings

from chat import frames as F
from project import metrics

log = structlog.get_logger(__name__)


def conv_group(conversation_id) -> str:
    return f"conv.{conversation_id}"


def staff_group(agency_id) -> str:
    return f"staff.{agency_id}"


def leads_group(agency_id) -> str:
    return f"leads.{agency_id}"


class Outbox:
    """The frames of one staff socket, written by one task.

    A staff monitor may watch hundreds of streaming conversations: one frame
    per token would be thousands of frames a second to one socket. Deltas wait
    up to `window` seconds and consecutive deltas of the same turn are merged
    (the first offset, the texts concatenated: CONTRACT-compliant), so the
    frame rate grows with conversations, not tokens. Any other frame is sent
    at the next loop iteration with everything queued before it, in order. And
    a slow staff socket delays only itself: the hub never awaits its writes,
    and a long window goes out in slices of `DRAIN_SLICE` with the loop's
    other callbacks in between."""

    __slots__ = ("send_text", "window", "frames", "last_delta", "task", "wake", "urgent", "closed")

    def __init__(self, send_text, *, window: float):
        self.send_text = send_text
        self.window = window
        self.frames: deque = deque()  # (conversation, frame) in send order
        self.last_delta: dict = {}  # conversation -> its newest queued frame, if that is a delta
        self.task: asyncio.Task | None = None
        self.wake: asyncio.Future | None = None
        self.urgent = False
        self.closed = False

    def put(self, key, frame: dict) -> None:
        if self.closed:
            return
        if frame.get("type") == "turn.delta":
            if self._extend(key, frame["turn"], frame["offset"], frame["text"]):
                return
            frame = dict(frame)  # ours to extend while it waits
            self.last_delta[key] = frame
        else:
            self.last_delta.pop(key, None)
            self.urgent = True
            if self.wake is not None and not self.wake.done():
                self.wake.set_result(None)
        self._queue(key, frame)

    def put_delta(self, key, turn: str, offset: int, text: str) -> None:
        """put() of the tagged delta `{type, turn, offset, text, conversation: key}`,
        which is built only when it cannot extend the one already queued (nearly
        every token of a streaming conversation extends it): the hub's path for
        the deltas of a conversation that a staff socket watches live."""
        if self.closed or self._extend(key, turn, offset, text):
            return
        frame = self.last_delta[key] = {"type": "turn.delta", "turn": turn, "offset": offset, "text": text,
                                        "conversation": key}
        self._queue(key, frame)

    def _extend(self, key, turn: str, offset: int, text: str) -> bool:
        # The window's queued delta of this conversation, if the new text continues it.
        last = self.last_delta.get(key)
        if last is not None and last["turn"] == turn and last["offset"] + len(last["text"]) == offset:
            last["text"] += text
            return True
        return False

    def _queue(self, key, frame: dict) -> None:
        self.frames.append((key, frame))
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._drain())

    def flush_soon(self) -> None:
        """Send what is queued at the next loop iteration (deltas that were
        already batched by another process need no second window)."""
        if self.frames:
            self.urgent = True
            if self.wake is not None and not self.wake.done():
                self.wake.set_result(None)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.frames and not self.closed:
                if not self.urgent:
                    # Let the deltas of this window gather; a persisted frame cuts the wait short.
                    self.wake = loop.create_future()
                    timer = loop.call_later(self.window, _resolve, self.wake)
                    await self.wake
                    timer.cancel()
                    self.wake = None
                self.urgent = False
                yield_at = time.perf_counter() + DRAIN_SLICE
                while self.frames and not self.closed:
                    key, frame = self.frames.popleft()
                    if self.last_delta.get(key) is frame:
                        del self.last_delta[key]
                    await self.send_text(orjson.dumps(frame).decode())
                    if time.perf_counter() >= yield_at:
                        # A socket's send returns without suspending while its buffer has
                        # room, so a window of 150 conversations' deltas would otherwise be
                        # one callback of up to 2 ms that every lead's next token waits behind.
                        await asyncio.sleep(0)
                        yield_at = time.perf_counter() + DRAIN_SLICE
        except Exception as exc:  # noqa: BLE001 - a socket closing under us: nothing left to send it
            log.info("outbox_send_failed", error=str(exc))
            self.close()
        finally:
            self.task = None

    def close(self) -> None:
        self.closed = True
        self.frames.clear()
        self.last_delta.clear()
        if self.wake is not None and not self.wake.done():
            self.wake.set_result(None)


# How long a staff outbox writes before it lets the loop run other callbacks
# (the leads' tokens) again.
DRAIN_SLICE = 0.0005


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


# How long a socket holds a persisted frame that came before its predecessor.
SEQ_GAP_WAIT = 0.5


class Sink:
    """One socket's view of one conversation: drops persisted frames it has
    already sent (by seq) and the part of a delta it already has (by offset),
    and holds live frames while the socket's replay is still being sent."""

    __slots__ = ("send_text", "conversation_id", "last_seq", "offsets", "completed", "buffer", "tag", "staff", "key_id",
                 "outbox", "ahead", "gap_timer", "gone")

    def __init__(self, send_text, conversation_id: str, *, last_seq: int = 0, staff: bool = False, tag: bool = False,
                 key_id: str | None = None, outbox: Outbox | None = None):
        self.send_text = send_text
        # Staff sockets queue through their Outbox (batched deltas, never awaited by the hub).
        self.outbox = outbox
        self.conversation_id = conversation_id
        self.last_seq = last_seq
        self.offsets: dict[str, int] = {}
        self.completed: set[str] = set()
        self.buffer: list[dict] | None = []  # None once live
        self.staff = staff
        # Staff sockets watch many conversations: their frames name which one.
        self.tag = tag
        self.key_id = key_id
        # Persisted frames that arrived before a lower seq, held until it comes.
        self.ahead: dict[int, dict] = {}
        self.gap_timer: asyncio.TimerHandle | None = None
        # The socket closed under us (its disconnect handler detaches the sink a moment later).
        self.gone = False

    async def deliver(self, frame: dict) -> None:
        if self.gone:
            return
        if self.buffer is not None:
            self.buffer.append(frame)
            return
        await self._send(frame)

    async def go_live(self, replay: list[dict], live_turn: "LiveTurn | None") -> None:
        """Send the replay, then the streaming turn so far, then what arrived meanwhile."""
        for frame in replay:
            # The replay is read in seq order and leaves out staff-only frames
            # for leads: its gaps are not reordering, nothing to wait for.
            await self._send(frame, in_order=True)
        if live_turn is not None:
            await self._send(F.turn_started_frame(turn_id=live_turn.turn_id, role=live_turn.role, agent_name=live_turn.agent_name))
            await self._send(F.turn_delta_frame(turn_id=live_turn.turn_id, offset=0, text=live_turn.text))
        while self.buffer:
            pending, self.buffer = self.buffer, []
            for frame in pending:
                await self._send(frame)
        self.buffer = None

    async def _send(self, frame: dict, *, in_order: bool = False) -> None:
        kind = frame.get("type")
        seq = frame.get("seq")
        if seq is not None:
            if seq <= self.last_seq or seq in self.ahead:
                return
            if seq > self.last_seq + 1 and not in_order:
                # Two publishers of one conversation (the socket's own write and a
                # background task's, or two processes) can reach this process out
                # of order. Dropping the lower seq would lose it; sending it late
                # would break "seq grows by one": hold this one until the gap fills.
                self._hold(seq, frame)
                return
            await self._persisted(frame, seq)
            while self.last_seq + 1 in self.ahead:
                held = self.ahead.pop(self.last_seq + 1)
                await self._persisted(held, held["seq"])
            if not self.ahead and self.gap_timer is not None:
                self.gap_timer.cancel()
                self.gap_timer = None
            return
        if frame.get("staff_only") and not self.staff:
            return
        if kind == "turn.started":
            turn = frame["turn"]
            if turn in self.offsets or turn in self.completed:
                return
            self.offsets[turn] = 0
        elif kind == "turn.delta":
            turn = frame["turn"]
            if turn in self.completed:
                return
            have = self.offsets.get(turn)
            if have is None:
                # Joined after turn.started was sent: announce it first.
                await self._emit({"type": "turn.started", "turn": turn, "role": frame.get("role", "assistant")})
                have = self.offsets[turn] = 0
            offset, text = frame["offset"], frame["text"]
            end = offset + len(text)
            if end <= have:
                return
            if offset < have:
                text, offset = text[have - offset:], have
            elif offset > have:
                # A gap would corrupt the client's text: resend from what it has.
                log.warning("delta_gap", conversation=self.conversation_id, have=have, offset=offset)
                return
            self.offsets[turn] = end
            frame = {"type": "turn.delta", "turn": turn, "offset": offset, "text": text}
        await self._emit(frame)

    async def _persisted(self, frame: dict, seq: int) -> None:
        # A staff-only frame still takes its place in the order a lead's socket sees.
        self.last_seq = seq
        if not self.staff and (frame.get("staff_only") or frame.get("type") == "note"):
            return
        if frame.get("type") == "turn.completed":
            self.completed.add(frame["turn"])
        await self._emit(frame)

    def _hold(self, seq: int, frame: dict) -> None:
        self.ahead[seq] = frame
        if self.gap_timer is None:
            # A frame lost on the way (a full channel) must not stall the socket.
            loop = asyncio.get_running_loop()
            self.gap_timer = loop.call_later(SEQ_GAP_WAIT, lambda: loop.create_task(self._release()))

    async def _release(self) -> None:
        self.gap_timer = None
        if self.ahead:
            log.warning("seq_gap", conversation=self.conversation_id, have=self.last_seq, next=min(self.ahead))
        while self.ahead:
            seq = min(self.ahead)
            held = self.ahead.pop(seq)
            if seq > self.last_seq:
                await self._persisted(held, seq)

    async def _emit(self, frame: dict) -> None:
        if self.tag:
            frame = {**frame, "conversation": self.conversation_id}
        frame.pop("staff_only", None)
        if self.outbox is not None:
            self.outbox.put(self.conversation_id, frame)
            return
        if self.gone:
            return
        try:
            await self.send_text(orjson.dumps(frame).decode())
        except Exception as exc:  # noqa: BLE001 - see socket_gone
            socket_gone(self, exc)


def socket_gone(sink: Sink, exc: Exception) -> None:
    """A send to a socket that has just closed (a lead reloading mid-reply)
    raises until its disconnect handler detaches the sink. That is the
    socket's end, never the sender's: the turn streaming to it, and every
    other socket of the conversation, go on."""
    if not sink.gone:
        sink.gone = True
        log.info("socket_gone", conversation=sink.conversation_id, error=type(exc).__name__)


@dataclass(slots=True)
class LiveTurn:
    turn_id: str
    role: str
    agent_name: str | None = None
    parts: list[str] = field(default_factory=list)
    length: int = 0
    # Set the moment a stop is requested: no delta of this turn goes out after.
    closed: bool = False
    # Set once the turn is persisted (its turn.completed may still be on its way).
    stored: bool = False

    @property
    def text(self) -> str:
        if len(self.parts) > 1:
            self.parts[:] = ["".join(self.parts)]
        return self.parts[0] if self.parts else ""

    def append(self, piece: str) -> int:
        offset = self.length
        self.parts.append(piece)
        self.length += len(piece)
        return offset


class Hub:
    def __init__(self) -> None:
        self.layer = None
        self.channel: str | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sinks: dict[str, set[Sink]] = defaultdict(set)
        self.staff_sockets: dict[str, set] = defaultdict(set)  # agency -> monitor consumers
        self.lead_sockets: dict[str, set] = defaultdict(set)  # agency -> lead consumers
        self.live: dict[str, LiveTurn] = {}  # turns generated in this process
        self.mirrors: dict[str, LiveTurn] = {}  # turns generated elsewhere, as far as received
        self.remote: dict[str, set[str]] = defaultdict(set)  # conversation -> other process channels watching
        self.pending: dict[str, list] = {}  # conversation -> [turn, offset, text] not yet sent to remote
        self.groups: set[str] = set()
        self._reader: asyncio.Task | None = None
        self._flusher: asyncio.Task | None = None
        self._refresher: asyncio.Task | None = None
        self._flush_wakeup: asyncio.Event | None = None
        self._start_lock: asyncio.Lock | None = None

    # --- lifecycle ------------------------------------------------------------

    @property
    def distributed(self) -> bool:
        """True when other processes may share conversations (a real channel layer)."""
        return not type(self.layer).__name__.startswith("InMemory")

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.loop is loop and self._reader and not self._reader.done():
            return
        if self._start_lock is None or self.loop is not loop:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self.loop is loop and self._reader and not self._reader.done():
                return
            # A new event loop (a test's, or a restarted server's) starts from a
            # clean slate: sockets and tasks of a dead loop cannot be reused.
            self.__init__()
            self._start_lock = asyncio.Lock()
            self.loop = loop
            self.layer = get_channel_layer()
            self.channel = await self.layer.new_channel("hub.")
            self._flush_wakeup = asyncio.Event()
            self._reader = loop.create_task(self._read_forever(), name="hub-reader")
            self._flusher = loop.create_task(self._flush_forever(), name="hub-flusher")
            self._refresher = loop.create_task(self._refresh_forever(), name="hub-group-refresher")

    # Redis away (a restart) degrades the hub to this process: local sockets
    # still get everything at once, and what other processes missed they get
    # from the frame log on their next replay. A socket must not fail, nor a
    # turn stop, because a fan-out message could not be sent; memberships
    # that could not be added are renewed by _refresh_forever once it is back.

    async def _join(self, group: str) -> None:
        if group not in self.groups:
            self.groups.add(group)
            try:
                await self.layer.group_add(group, self.channel)
            except Exception as exc:  # noqa: BLE001 - see above
                log.warning("hub_join_failed", group=group, error=str(exc))

    async def _leave(self, group: str) -> None:
        if group in self.groups:
            self.groups.discard(group)
            try:
                await self.layer.group_discard(group, self.channel)
            except Exception as exc:  # noqa: BLE001 - the membership expires by itself
                log.warning("hub_leave_failed", group=group, error=str(exc))

    async def _group_send(self, group: str, message: dict) -> None:
        try:
            await self.layer.group_send(group, message)
        except Exception as exc:  # noqa: BLE001 - see above
            metrics.FANOUT_FAILURES.inc()
            log.warning("hub_group_send_failed", group=group, message_type=message.get("type"), error=str(exc))

    async def _group_send_many(self, sends: list[tuple[str, dict]]) -> None:
        # The groups looked up in one Redis round trip where the layer can (project/channel_layer.py).
        many = getattr(self.layer, "group_send_many", None)
        if many is None:
            for group, message in sends:
                await self._group_send(group, message)
            return
        try:
            await many(sends)
        except Exception as exc:  # noqa: BLE001 - see above
            metrics.FANOUT_FAILURES.inc()
            log.warning("hub_group_send_failed", groups=[group for group, _ in sends], error=str(exc))

    # --- sockets joining and leaving --------------------------------------------

    async def attach(self, sink: Sink) -> None:
        await self.start()
        conv = sink.conversation_id
        first = not self.sinks[conv]
        self.sinks[conv].add(sink)
        if first and self.distributed:
            await self._join(conv_group(conv))
            # Ask whoever generates or watches this conversation to count us in
            # (and, if a turn is streaming there, to send us its text so far).
            await self._group_send(conv_group(conv), {"type": "hub.watch", "conv": conv, "origin": self.channel})

    async def detach(self, sink: Sink) -> None:
        conv = sink.conversation_id
        sinks = self.sinks.get(conv)
        if sinks is None:
            return
        sinks.discard(sink)
        if not sinks:
            del self.sinks[conv]
            self.mirrors.pop(conv, None)
            if self.distributed and conv not in self.live:
                await self._group_send(conv_group(conv), {"type": "hub.unwatch", "conv": conv, "origin": self.channel})
                await self._leave(conv_group(conv))

    def live_turn(self, conversation_id: str) -> LiveTurn | None:
        return self.live.get(conversation_id) or self.mirrors.get(conversation_id)

    async def register_staff(self, agency_id: str, consumer) -> None:
        await self.start()
        first = not self.staff_sockets[agency_id]
        self.staff_sockets[agency_id].add(consumer)
        if first and self.distributed:
            await self._join(staff_group(agency_id))

    async def unregister_staff(self, agency_id: str, consumer) -> None:
        sockets = self.staff_sockets.get(agency_id)
        if sockets is None:
            return
        sockets.discard(consumer)
        if not sockets:
            del self.staff_sockets[agency_id]
            if self.distributed:
                await self._leave(staff_group(agency_id))

    async def register_lead(self, agency_id: str, consumer) -> None:
        await self.start()
        first = not self.lead_sockets[agency_id]
        self.lead_sockets[agency_id].add(consumer)
        if first and self.distributed:
            await self._join(leads_group(agency_id))

    async def unregister_lead(self, agency_id: str, consumer) -> None:
        sockets = self.lead_sockets.get(agency_id)
        if sockets is None:
            return
        sockets.discard(consumer)
        if not sockets:
            del self.lead_sockets[agency_id]
            if self.distributed:
                await self._leave(leads_group(agency_id))

    # --- streaming turns generated here -------------------------------------------

    async def turn_started(self, conversation_id: str, turn_id: str, role: str, agent_name: str | None = None) -> LiveTurn:
        await self.start()
        turn = LiveTurn(turn_id=turn_id, role=role, agent_name=agent_name)
        self.live[conversation_id] = turn
        frame = F.turn_started_frame(turn_id=turn_id, role=role, agent_name=agent_name)
        for sink in tuple(self.sinks.get(conversation_id, ())):
            await sink.deliver(frame)
        if self.distributed:
            await self._join(conv_group(conversation_id))
            if self.remote.get(conversation_id):
                # Only processes that asked (hub.watch) need it; one whose ask is still
                # on its way gets the turn from the snapshot its hub.watch triggers.
                await self._group_send(
                    conv_group(conversation_id),
                    {"type": "hub.started", "conv": conversation_id, "turn": turn_id, "role": role,
                     "agent": agent_name, "origin": self.channel},
                )
        return turn

    async def turn_delta(self, conversation_id: str, turn: LiveTurn, piece: str) -> None:
        """The hot path: one append, direct sends to local sockets, and a note
        for the next batch when another process watches."""
        if turn.closed:
            return
        offset = turn.append(piece)
        sinks = self.sinks.get(conversation_id)
        if sinks:
            turn_id = turn.turn_id
            frame = {"type": "turn.delta", "turn": turn_id, "offset": offset, "text": piece}
            encoded = None
            for sink in tuple(sinks):
                if (sink.buffer is None and not sink.gone and sink.offsets.get(turn_id) == offset
                        and turn_id not in sink.completed):
                    if sink.outbox is None and not sink.tag:
                        # The usual case: a live lead socket that has the turn up to here takes the
                        # delta as it is, encoded once for every such socket of the conversation.
                        if encoded is None:
                            encoded = orjson.dumps(frame).decode()
                        sink.offsets[turn_id] = offset + len(piece)
                        try:
                            await sink.send_text(encoded)
                        except Exception as exc:  # noqa: BLE001 - one closed socket must not end the turn
                            socket_gone(sink, exc)
                        continue
                    if sink.outbox is not None and sink.tag:
                        # A staff socket that has the turn up to here: straight into its outbox's
                        # window, as Sink._send and _emit would queue it, without their frame
                        # copies for every watched token.
                        sink.offsets[turn_id] = offset + len(piece)
                        sink.outbox.put_delta(conversation_id, turn_id, offset, piece)
                        continue
                await sink.deliver(frame)
        if self.remote.get(conversation_id):
            pending = self.pending.get(conversation_id)
            if pending is None:
                self.pending[conversation_id] = [turn.turn_id, offset, piece]
                self._flush_wakeup.set()
            else:
                pending[2] += piece

    async def turn_finished(self, conversation_id: str, turn: LiveTurn) -> None:
        """Flush what remote watchers have not received yet; the caller then
        publishes the persisted turn.completed, which must come after it."""
        await self._flush(only=conversation_id)
        if self.live.get(conversation_id) is turn:
            del self.live[conversation_id]
        if self.distributed and not self.sinks.get(conversation_id):
            await self._leave(conv_group(conversation_id))

    # --- persisted frames and notifications -------------------------------------

    async def publish(self, conversation_id: str, agency_id: str, frames: list[dict], summary: dict | None = None) -> None:
        """Announce committed frames: local sockets at once, other processes via Redis."""
        await self.start()
        conversation_id, agency_id = str(conversation_id), str(agency_id)
        for frame in frames:
            if frame.get("type") == "turn.completed":
                self.mirrors.pop(conversation_id, None)
            for sink in tuple(self.sinks.get(conversation_id, ())):
                await sink.deliver(frame)
        if summary is not None:
            await self._deliver_summary(agency_id, summary)
        if self.distributed:
            sends = []
            if frames:
                sends.append((conv_group(conversation_id),
                              {"type": "hub.frames", "conv": conversation_id, "frames": frames, "origin": self.channel}))
            if summary is not None:
                sends.append((staff_group(agency_id),
                              {"type": "hub.summary", "agency": agency_id, "summary": summary, "origin": self.channel}))
            await self._group_send_many(sends)

    async def publish_notice(self, conversation_id, frame: dict, *, staff_only: bool = False) -> None:
        """Unstored frames (errors, typing, presence, an agent's turn.started):
        sent at once, never replayed. `staff_only` ones skip the lead's sockets."""
        await self.start()
        conversation_id = str(conversation_id)
        for sink in tuple(self.sinks.get(conversation_id, ())):
            if sink.staff or not staff_only:
                await sink.deliver(frame)
        if self.distributed:
            await self._group_send(
                conv_group(conversation_id),
                {"type": "hub.notice", "conv": conversation_id, "frame": frame, "staff_only": staff_only,
                 "origin": self.channel},
            )

    async def publish_agency(self, agency_id: str, message: dict) -> None:
        """Agency-wide control messages (a revoked widget key closes its sockets)."""
        await self.start()
        await self._on_control(message)
        if self.distributed:
            await self._group_send(leads_group(agency_id), {**message, "origin": self.channel})

    async def _deliver_summary(self, agency_id: str, summary: dict) -> None:
        for consumer in tuple(self.staff_sockets.get(agency_id, ())):
            await consumer.conversation_updated(summary)

    async def _on_control(self, message: dict) -> None:
        if message.get("type") == "hub.key_revoked":
            for consumer in tuple(self.lead_sockets.get(message["agency"], ())):
                await consumer.widget_key_revoked(message["key"])

    # --- other processes ------------------------------------------------------------

    async def _flush(self, only: str | None = None) -> None:
        if not self.pending:
            return
        if only is not None:
            if only not in self.pending:
                return
            items = {only: self.pending.pop(only)}
        else:
            items, self.pending = self.pending, {}
        by_process: dict[str, list] = defaultdict(list)
        for conv, item in items.items():
            for channel in self.remote.get(conv, ()):
                by_process[channel].append([conv, *item])
        for channel, batch in by_process.items():
            metrics.FANOUT_BATCHES.inc()
            try:
                await self.layer.send(channel, {"type": "hub.deltas", "items": batch})
            except Exception as exc:  # noqa: BLE001 - a full or dead channel must not stop the stream
                log.warning("fanout_send_failed", channel=channel, error=str(exc))

    async def _flush_forever(self) -> None:
        window = settings.CHAT_FANOUT_WINDOW_MS / 1000
        while True:
            await self._flush_wakeup.wait()
            self._flush_wakeup.clear()
            await asyncio.sleep(window)
            try:
                await self._flush()
            except Exception:  # noqa: BLE001
                log.exception("fanout_flush_failed")

    async def _refresh_forever(self) -> None:
        """Renew this process's group memberships well within the layer's
        group_expiry. A process that dies without leaving its groups (a crash,
        a replaced replica) then drops out of them after group_expiry instead
        of being sent, and queued in Redis, every group message of its old
        conversations and agencies for a day (seen in bench_stream as extra
        zadd/eval per turn after a previous web process of the same run)."""
        expiry = getattr(self.layer, "group_expiry", None)
        if not expiry:
            return
        while True:
            await asyncio.sleep(expiry / 3)
            for group in tuple(self.groups):
                try:
                    if group in self.groups:
                        await self.layer.group_add(group, self.channel)
                except Exception as exc:  # noqa: BLE001 - Redis restarting: the next round renews
                    log.warning("hub_group_refresh_failed", group=group, error=str(exc))
                    break

    async def _read_forever(self) -> None:
        # Everything waiting in one round trip where the layer can (project/channel_layer.py).
        batch = getattr(self.layer, "receive_batch", None)
        while True:
            try:
                messages = await batch(self.channel) if batch is not None else [await self.layer.receive(self.channel)]
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - Redis restarts: keep reading
                log.warning("hub_receive_failed", exc_info=True)
                await asyncio.sleep(0.5)
                continue
            for message in messages:
                try:
                    await self._on_message(message)
                except Exception:  # noqa: BLE001
                    log.exception("hub_message_failed", message_type=message.get("type"))

    async def _on_message(self, message: dict) -> None:
        kind = message.get("type")
        origin = message.get("origin")
        if origin is not None and origin == self.channel:
            return
        conv = message.get("conv")
        if kind == "hub.deltas":
            outboxes = set()
            for conv_id, turn_id, offset, text in message["items"]:
                mirror = self.mirrors.get(conv_id)
                if mirror is None or mirror.turn_id != turn_id:
                    mirror = self.mirrors[conv_id] = LiveTurn(turn_id=turn_id, role="assistant")
                if offset + len(text) > mirror.length:
                    have = mirror.text
                    mirror.parts[:] = [have[:offset] + text] if offset <= len(have) else [have]
                    mirror.length = len(mirror.parts[0])
                frame = {"type": "turn.delta", "turn": turn_id, "offset": offset, "text": text}
                for sink in tuple(self.sinks.get(conv_id, ())):
                    await sink.deliver(frame)
                    if sink.outbox is not None:
                        outboxes.add(sink.outbox)
            for outbox in outboxes:
                outbox.flush_soon()
        elif kind == "hub.frames":
            for frame in message["frames"]:
                if frame.get("type") == "turn.completed":
                    self.mirrors.pop(conv, None)
                for sink in tuple(self.sinks.get(conv, ())):
                    await sink.deliver(frame)
        elif kind == "hub.started":
            self.mirrors[conv] = LiveTurn(turn_id=message["turn"], role=message["role"], agent_name=message.get("agent"))
            frame = F.turn_started_frame(turn_id=message["turn"], role=message["role"], agent_name=message.get("agent"))
            for sink in tuple(self.sinks.get(conv, ())):
                await sink.deliver(frame)
        elif kind == "hub.watch":
            self.remote[conv].add(origin)
            live = self.live.get(conv)
            if live is not None:
                # Text so far, then the batches continue from its end.
                await self._flush(only=conv)
                await self.layer.send(origin, {"type": "hub.snapshot", "conv": conv, "turn": live.turn_id,
                                               "role": live.role, "agent": live.agent_name, "text": live.text,
                                               "origin": self.channel})
            if message.get("reply", True) and self.sinks.get(conv):
                await self.layer.send(origin, {"type": "hub.watch", "conv": conv, "origin": self.channel, "reply": False})
        elif kind == "hub.unwatch":
            self.remote.get(conv, set()).discard(origin)
        elif kind == "hub.snapshot":
            mirror = self.mirrors.get(conv)
            if mirror is None or mirror.turn_id != message["turn"] or mirror.length < len(message["text"]):
                self.mirrors[conv] = LiveTurn(turn_id=message["turn"], role=message["role"], agent_name=message.get("agent"),
                                              parts=[message["text"]], length=len(message["text"]))
            started = F.turn_started_frame(turn_id=message["turn"], role=message["role"], agent_name=message.get("agent"))
            delta = F.turn_delta_frame(turn_id=message["turn"], offset=0, text=message["text"])
            for sink in tuple(self.sinks.get(conv, ())):
                await sink.deliver(started)
                await sink.deliver(delta)
        elif kind == "hub.notice":
            for sink in tuple(self.sinks.get(conv, ())):
                if sink.staff or not message.get("staff_only"):
                    await sink.deliver(message["frame"])
        elif kind == "hub.summary":
            await self._deliver_summary(message["agency"], message["summary"])
        elif kind in ("hub.key_revoked", "hub.control"):
            await self._on_control(message)
        elif kind == "hub.stop":
            await self._on_stop(message)

    # --- stopping a turn generated in whichever process --------------------------

    async def request_stop(self, conversation_id: str, *, reason: str, frames: list[dict] | None = None) -> None:
        """Stop the streaming turn of a conversation, here or in another process.

        `frames` (committed ones, e.g. a takeover's handoff) travel with the
        stop: wherever the turn streams, they reach the sockets right after the
        stop and so before the stopped turn's turn.completed, whose seq is
        higher but which needs a database write first. Sent after the stop as
        a separate message, they could arrive after it and be dropped by seq."""
        await self.start()
        message = {"conv": conversation_id, "reason": reason}
        if frames:
            message["frames"] = frames
        await self._on_stop(message)
        if self.distributed:
            await self._group_send(conv_group(conversation_id),
                                        {"type": "hub.stop", **message, "origin": self.channel})

    async def _on_stop(self, message: dict) -> None:
        from chat.streaming import runners

        conv = message["conv"]
        runner = runners.get(conv)
        if runner is not None:
            # Synchronous: no delta of the turn goes out from here on.
            runner.stop(reason=message.get("reason", "stop"))
        for frame in message.get("frames") or ():
            for sink in tuple(self.sinks.get(conv, ())):
                await sink.deliver(frame)


hub = Hub()


def publish_from_sync(effects) -> None:
    """Announce a committed write from synchronous code (REST views, Celery
    tasks). In a web process whose hub runs, hop onto its loop; elsewhere
    (a worker) send through the channel layer to the processes that care."""
    from asgiref.sync import async_to_sync

    conv, agency = str(effects.conversation_id), str(effects.agency_id)
    loop = hub.loop
    if loop is not None and loop.is_running():
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            loop.create_task(hub.publish(conv, agency, effects.frames, effects.summary))
            return
        asyncio.run_coroutine_threadsafe(hub.publish(conv, agency, effects.frames, effects.summary), loop).result(timeout=10)
        return
    layer = get_channel_layer()
    if effects.frames:
        async_to_sync(layer.group_send)(conv_group(conv), {"type": "hub.frames", "conv": conv, "frames": effects.frames, "origin": None})
    if effects.summary is not None:
        async_to_sync(layer.group_send)(staff_group(agency), {"type": "hub.summary", "agency": agency, "summary": effects.summary, "origin": None})
