"""bench/capture.py: each streamed token dated when it left the server, not
when a (late) client read it."""

import asyncio
import json
import socket
import threading
import time

import pytest
import websockets

from bench.capture import WireCapture, wire_lags


def _packet_sockets_allowed() -> bool:
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)).close()
        return True
    except (PermissionError, AttributeError, OSError):
        return False


needs_capture = pytest.mark.skipif(not _packet_sockets_allowed(),
                                   reason="a packet socket needs Linux and CAP_NET_RAW")


def test_wire_lags_keep_one_socket_kind_and_leave_each_turns_first_frame_out():
    samples = [
        [8001, 2_000_000_000, 0, [1_999_000], 0],       # a turn's first frame: its time to first token
        [8001, 2_000_000_000, 5, [1_999_000, 1_999_500], 0],
        [8001, 2_000_000_000, 9, [1_999_000], 1],       # a staff socket's copy
        [9000, 2_000_000_000, 5, [1_000_000], 0],       # another server
    ]
    assert wire_lags(samples, {8001}) == [1.0, 0.5]
    assert wire_lags(samples, {8001}, staff=True) == [1.0]
    assert wire_lags(samples, {8001, 9000}) == [1.0, 0.5, 1000.0]


@needs_capture
def test_a_client_that_reads_late_does_not_make_the_tokens_late(tmp_path):
    port_box: list[int] = []
    done = threading.Event()

    def server() -> None:
        async def handler(ws):
            await ws.recv()
            for i in range(1, 41):
                await ws.send(json.dumps({"type": "turn.delta", "offset": i, "text": f" {time.time_ns() // 1000}"}))
                await asyncio.sleep(0.001)
            # A staff socket's copy names its conversation (orjson's compact form, as Markezy writes it).
            await ws.send(json.dumps({"type": "turn.delta", "turn": "t", "offset": 41,
                                      "text": f" {time.time_ns() // 1000}", "conversation": "c"},
                                     separators=(",", ":")))
            await ws.send(json.dumps({"type": "turn.completed", "text": f" {time.time_ns() // 1000}"}))
            await ws.close()

        async def run():
            async with websockets.serve(handler, "127.0.0.1", 0, compression=None, ping_interval=None) as srv:
                port_box.append(srv.sockets[0].getsockname()[1])
                await asyncio.get_running_loop().run_in_executor(None, done.wait, 30)

        asyncio.run(run())

    thread = threading.Thread(target=server, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not port_box and time.monotonic() < deadline:
        time.sleep(0.01)
    port = port_box[0]
    wire = WireCapture.start()
    assert wire is not None
    try:
        wire.ports(port)
        wire.begin()

        async def client() -> list[float]:
            read_lags = []
            async with websockets.connect(f"ws://127.0.0.1:{port}/", compression=None) as ws:
                await ws.send("go")
                time.sleep(0.6)  # the client's loop held up: every frame waits in its socket
                async for raw in ws:
                    frame = json.loads(raw)
                    if frame["type"] == "turn.delta" and "conversation" not in frame:
                        read_lags.append((time.time_ns() / 1000 - int(frame["text"])) / 1000)
            return read_lags

        read_lags = asyncio.run(client())
        samples, packets, dropped = wire.end(tmp_path / "wire.json")
    finally:
        done.set()
        wire.close()
    lags = wire_lags(samples, {port})
    assert len(lags) == len(read_lags) == 40
    assert min(read_lags) > 200, "the client was meant to read late"
    assert max(lags) < 50, lags
    assert len(wire_lags(samples, {port}, staff=True)) == 1
    assert packets > 0 and dropped == 0
    # turn.completed carries the whole text: not a delta, not counted.
    assert all(s[2] > 0 for s in samples)
