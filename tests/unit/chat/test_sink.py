"""The per-socket de-duplication that makes mid-stream joins and racing
replays safe: by seq for persisted frames, by offset for deltas."""

from __future__ import annotations

import json

from chat.hub import LiveTurn, Sink


class Socket:
    def __init__(self):
        self.sent: list[dict] = []

    async def __call__(self, text: str) -> None:
        self.sent.append(json.loads(text))


def _text(frames, turn):
    text = ""
    for f in frames:
        if f["type"] == "turn.delta" and f["turn"] == turn:
            assert f["offset"] == len(text), "a sink never sends a gap or an overlap"
            text += f["text"]
    return text


async def test_buffered_until_live_then_replay_first():
    socket = Socket()
    sink = Sink(socket, "c1", last_seq=0)
    await sink.deliver({"seq": 3, "type": "message", "text": "live"})
    assert socket.sent == []
    await sink.go_live([{"seq": 1, "type": "message"}, {"seq": 2, "type": "qualification"}, {"seq": 3, "type": "message", "text": "live"}], None)
    assert [f["seq"] for f in socket.sent] == [1, 2, 3]


async def test_persisted_duplicates_and_old_seqs_dropped():
    socket = Socket()
    sink = Sink(socket, "c1", last_seq=5)
    await sink.go_live([], None)
    for seq in (4, 5, 6, 6, 7):
        await sink.deliver({"seq": seq, "type": "message"})
    assert [f["seq"] for f in socket.sent] == [6, 7]


async def test_join_mid_stream_gets_text_so_far_then_rest_without_overlap():
    socket = Socket()
    sink = Sink(socket, "c1")
    turn = LiveTurn(turn_id="t1", role="assistant")
    for piece in ["Hola", " qué", " tal"]:
        turn.append(piece)
    # Live deltas that arrive during the replay overlap the snapshot.
    await sink.deliver({"type": "turn.delta", "turn": "t1", "offset": 4, "text": " qué"})
    await sink.deliver({"type": "turn.delta", "turn": "t1", "offset": 8, "text": " tal"})
    await sink.deliver({"type": "turn.delta", "turn": "t1", "offset": 12, "text": " estás"})
    await sink.go_live([], turn)
    await sink.deliver({"type": "turn.delta", "turn": "t1", "offset": 18, "text": "?"})
    assert socket.sent[0] == {"type": "turn.started", "turn": "t1", "role": "assistant"}
    assert _text(socket.sent, "t1") == "Hola qué tal estás?"


async def test_batched_delta_overlapping_snapshot_is_trimmed():
    socket = Socket()
    sink = Sink(socket, "c1")
    await sink.go_live([], None)
    await sink.deliver({"type": "turn.delta", "turn": "t1", "offset": 0, "text": "Hola qué"})
    await sink.deliver({"type": "turn.delta", "turn": "t1", "offset": 4, "text": " qué tal"})
    assert socket.sent[0]["type"] == "turn.started"  # announced for a joiner that missed it
    assert _text(socket.sent, "t1") == "Hola qué tal"


async def test_nothing_after_turn_completed():
    socket = Socket()
    sink = Sink(socket, "c1")
    await sink.go_live([], None)
    await sink.deliver({"type": "turn.started", "turn": "t1", "role": "assistant"})
    await sink.deliver({"type": "turn.delta", "turn": "t1", "offset": 0, "text": "Hola"})
    await sink.deliver({"seq": 1, "type": "turn.completed", "turn": "t1", "text": "Hola", "stopped": True})
    await sink.deliver({"type": "turn.delta", "turn": "t1", "offset": 4, "text": " tarde"})
    assert [f["type"] for f in socket.sent] == ["turn.started", "turn.delta", "turn.completed"]


async def test_staff_tagging_and_notes_never_to_leads():
    lead_socket, staff_socket = Socket(), Socket()
    lead = Sink(lead_socket, "c1")
    staff = Sink(staff_socket, "c1", staff=True, tag=True)
    for sink in (lead, staff):
        await sink.go_live([], None)
        await sink.deliver({"seq": 1, "type": "note", "text": "privado"})
        await sink.deliver({"seq": 2, "type": "message", "text": "hola"})
    assert [f["type"] for f in lead_socket.sent] == ["message"]
    assert [f["type"] for f in staff_socket.sent] == ["note", "message"]
    assert all(f["conversation"] == "c1" for f in staff_socket.sent)


async def test_gap_is_never_forwarded():
    socket = Socket()
    sink = Sink(socket, "c1")
    await sink.go_live([], None)
    await sink.deliver({"type": "turn.delta", "turn": "t1", "offset": 0, "text": "Ho"})
    await sink.deliver({"type": "turn.delta", "turn": "t1", "offset": 5, "text": "xx"})
    assert _text(socket.sent, "t1") == "Ho"


async def test_a_frame_ahead_of_a_gap_waits_for_it_so_seq_order_holds():
    """The socket's own write (seq 41) and a background task's (seq 42) can
    reach a process in either order; the client still sees 41 then 42."""
    socket = Socket()
    sink = Sink(socket, "c1", last_seq=40)
    await sink.go_live([], None)
    await sink.deliver({"seq": 42, "type": "strategy", "status": "queued"})
    await sink.deliver({"type": "turn.delta", "turn": "t", "offset": 0, "text": "hola"})  # unstored: not held
    await sink.deliver({"seq": 41, "type": "qualification", "step": "done"})
    await sink.deliver({"seq": 42, "type": "strategy", "status": "queued"})  # a duplicate of the held one
    assert [(f["type"], f.get("seq")) for f in socket.sent] == [
        ("turn.started", None), ("turn.delta", None), ("qualification", 41), ("strategy", 42)]
    assert sink.gap_timer is None and sink.ahead == {}


async def test_a_lost_frame_stalls_nothing_and_staff_only_frames_keep_the_leads_order():
    import asyncio

    import chat.hub as hub_module

    hub_module.SEQ_GAP_WAIT = 0.05
    try:
        socket = Socket()
        sink = Sink(socket, "c1", last_seq=1)
        await sink.go_live([], None)
        # A note (staff only) takes seq 2: the lead skips it without waiting for it.
        await sink.deliver({"seq": 2, "type": "note", "staff_only": True, "text": "privada"})
        await sink.deliver({"seq": 3, "type": "message", "text": "a"})
        # seq 4 never arrives (a full channel): 5 goes out after the wait.
        await sink.deliver({"seq": 5, "type": "message", "text": "b"})
        assert [f["seq"] for f in socket.sent] == [3]
        await asyncio.sleep(0.15)
        assert [f["seq"] for f in socket.sent] == [3, 5] and sink.last_seq == 5
        await sink.deliver({"seq": 4, "type": "message", "text": "late"})  # too late: dropped, not out of order
        assert [f["seq"] for f in socket.sent] == [3, 5]
    finally:
        hub_module.SEQ_GAP_WAIT = 0.5


async def test_replay_gaps_are_not_waited_for():
    socket = Socket()
    sink = Sink(socket, "c1", last_seq=0)
    await sink.go_live([{"seq": 1, "type": "message"}, {"seq": 3, "type": "message"}], None)  # 2 was staff-only
    assert [f["seq"] for f in socket.sent] == [1, 3] and sink.ahead == {}


async def test_staff_outbox_merges_the_deltas_of_a_window_per_turn_and_keeps_order():
    import asyncio

    from chat.hub import Outbox

    socket = Socket()
    outbox = Outbox(socket, window=0.05)
    sinks = {c: Sink(socket, c, staff=True, tag=True, outbox=outbox) for c in ("c1", "c2")}
    for sink in sinks.values():
        await sink.go_live([], None)
    turns = {c: LiveTurn(turn_id=f"t-{c}", role="assistant") for c in sinks}
    for c, sink in sinks.items():
        await sink.deliver({"type": "turn.started", "turn": turns[c].turn_id, "role": "assistant"})
    await asyncio.sleep(0.01)  # the two starts are not deltas: sent at once
    assert [f["type"] for f in socket.sent] == ["turn.started", "turn.started"]
    for piece in ["Ho", "la", ",", " ¿qué", " tal?"]:
        for c, sink in sinks.items():
            offset = turns[c].append(piece)
            await sink.deliver({"type": "turn.delta", "turn": turns[c].turn_id, "offset": offset, "text": piece})
    assert len(socket.sent) == 2, "deltas wait for the window"
    await asyncio.sleep(0.1)
    deltas = [f for f in socket.sent if f["type"] == "turn.delta"]
    # One frame per conversation for the whole window, each starting at offset 0.
    assert [(f["conversation"], f["offset"], f["text"]) for f in deltas] == [
        ("c1", 0, "Hola, ¿qué tal?"), ("c2", 0, "Hola, ¿qué tal?")]
    # A persisted frame goes out without waiting, after the deltas queued before it.
    offset = turns["c1"].append(" Bien")
    await sinks["c1"].deliver({"type": "turn.delta", "turn": "t-c1", "offset": offset, "text": " Bien"})
    await sinks["c1"].deliver({"seq": 1, "type": "turn.completed", "turn": "t-c1", "text": turns["c1"].text})
    await asyncio.sleep(0.01)
    assert [f["type"] for f in socket.sent[-2:]] == ["turn.delta", "turn.completed"]
    assert _text([f for f in socket.sent if f.get("conversation") == "c1"], "t-c1") == "Hola, ¿qué tal? Bien"
    outbox.close()


async def test_a_slow_staff_socket_never_holds_up_the_caller():
    import asyncio
    import time

    from chat.hub import Outbox

    release = asyncio.Event()
    sent = []

    async def slow(text):
        await release.wait()
        sent.append(json.loads(text))

    outbox = Outbox(slow, window=0.0)
    sink = Sink(slow, "c1", staff=True, tag=True, outbox=outbox)
    await sink.go_live([], None)
    started = time.monotonic()
    turn = LiveTurn(turn_id="t1", role="assistant")
    for i in range(500):
        piece = f" {i}"
        await sink.deliver({"type": "turn.delta", "turn": "t1", "offset": turn.append(piece), "text": piece})
        await asyncio.sleep(0)
    assert time.monotonic() - started < 1
    release.set()
    await asyncio.sleep(0.05)
    # Everything arrives, in fewer frames than deltas, with no gap or overlap.
    assert _text(sent, "t1") == turn.text and len(sent) < 100


async def test_deltas_batched_by_another_process_skip_the_staff_window():
    import asyncio

    from chat.hub import Outbox

    socket = Socket()
    outbox = Outbox(socket, window=5.0)
    sink = Sink(socket, "c1", staff=True, tag=True, outbox=outbox)
    await sink.go_live([], None)
    await sink.deliver({"type": "turn.started", "turn": "t1", "role": "assistant"})
    await asyncio.sleep(0.01)
    await sink.deliver({"type": "turn.delta", "turn": "t1", "offset": 0, "text": "Hola"})
    await asyncio.sleep(0.01)
    assert [f["type"] for f in socket.sent] == ["turn.started"]
    outbox.flush_soon()
    await asyncio.sleep(0.01)
    assert socket.sent[-1] == {"type": "turn.delta", "turn": "t1", "offset": 0, "text": "Hola", "conversation": "c1"}
    outbox.close()


async def test_a_long_staff_window_is_written_in_slices_so_the_leads_tokens_are_not_held_up():
    """A monitor watching hundreds of streaming conversations gets one frame
    per conversation per window; written in one go, that is milliseconds in
    which no lead's token is read or sent."""
    import asyncio
    import time

    from chat import hub
    from chat.hub import Outbox

    loop = asyncio.get_running_loop()
    sent: list[dict] = []
    seen_mid_drain: list[int] = []

    async def busy_socket(text):
        # Like a socket with room in its buffer: the write costs CPU and never suspends.
        until = time.perf_counter() + 0.0002
        while time.perf_counter() < until:
            pass
        sent.append(json.loads(text))
        if len(sent) == 5:
            # A lead's token arrives while the window is being written.
            loop.call_soon(lambda: seen_mid_drain.append(len(sent)))

    outbox = Outbox(busy_socket, window=0.0)
    conversations = [f"c{i}" for i in range(60)]
    for c in conversations:
        outbox.put(c, {"type": "turn.delta", "turn": f"t-{c}", "offset": 0, "text": "Ho", "conversation": c})
        outbox.put(c, {"type": "turn.delta", "turn": f"t-{c}", "offset": 2, "text": "la", "conversation": c})
    for _ in range(200):
        if len(sent) == len(conversations):
            break
        await asyncio.sleep(0.005)
    # Every conversation's window in one frame, in order...
    assert [(f["conversation"], f["offset"], f["text"]) for f in sent] == [(c, 0, "Hola") for c in conversations]
    # ...and the token ran between two slices of the window, not after all of it.
    assert seen_mid_drain and seen_mid_drain[0] <= 5 + int(hub.DRAIN_SLICE / 0.0002) + 2
    outbox.close()


async def test_the_hubs_staff_path_queues_exactly_what_the_sinks_path_does():
    # The hub puts a watched token straight into the staff outbox; a socket fed
    # frame by frame through Sink.deliver must get the same frames, window for window.
    import asyncio

    from channels.layers import InMemoryChannelLayer

    from chat.hub import Hub, Outbox

    async def nothing():
        return None

    hub = Hub()
    hub.layer = InMemoryChannelLayer()
    hub.start = nothing
    fast, slow = Socket(), Socket()
    fast_outbox, slow_outbox = Outbox(fast, window=0.03), Outbox(slow, window=0.03)
    watched = Sink(fast, "c1", staff=True, tag=True, outbox=fast_outbox)
    lead = Socket()
    lead_sink = Sink(lead, "c1")
    for sink in (watched, lead_sink):
        await sink.go_live([], None)
        hub.sinks["c1"].add(sink)
    mirror = Sink(slow, "c1", staff=True, tag=True, outbox=slow_outbox)
    await mirror.go_live([], None)

    turn = await hub.turn_started("c1", "t1", "assistant")
    await mirror.deliver({"type": "turn.started", "turn": "t1", "role": "assistant"})
    for i, piece in enumerate(["Hola", ", ", "soy", " tu", " asistente", "."]):
        offset = turn.length
        await hub.turn_delta("c1", turn, piece)
        await mirror.deliver({"type": "turn.delta", "turn": "t1", "offset": offset, "text": piece})
        if i == 2:
            await asyncio.sleep(0.06)  # a window closes mid-reply
    await asyncio.sleep(0.06)
    completed = {"seq": 1, "type": "turn.completed", "turn": "t1", "text": turn.text}
    await hub.publish("c1", "a1", [completed])
    await mirror.deliver(completed)
    await asyncio.sleep(0.01)

    assert fast.sent == slow.sent
    assert [f["type"] for f in fast.sent] == ["turn.started", "turn.delta", "turn.delta", "turn.completed"]
    assert all(f["conversation"] == "c1" for f in fast.sent)
    assert _text(fast.sent, "t1") == "Hola, soy tu asistente." == _text(lead.sent, "t1")
    assert len([f for f in lead.sent if f["type"] == "turn.delta"]) == 6  # the lead's socket: one frame a token
    fast_outbox.close()
    slow_outbox.close()
