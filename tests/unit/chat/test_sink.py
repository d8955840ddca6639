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
