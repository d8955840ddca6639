"""Per-token latency at the wire: when each streamed token left the server
under test, as the network stack saw it, whatever the bench's clients'
scheduling.

Why: the streaming bench dated each token when its client's event loop read
it. That client shares a core with MariaDB, Redis and the upstream
(`--pin WEB:REST`), and waited for it 0.4–1.0 s in a 6-s phase; a token read
late counted as late, and more in the service's runs than in the relay's,
which have no database working beside the clients. The receive timestamp of
the clients' own sockets does not help: TCP merges queued packets and keeps
the newest one's time. A packet socket on `lo` sees every packet once, with
its own kernel timestamp (taken as the packet enters the loopback device,
in the sender's `send()`), however late it is read.

    python bench/capture.py            # prints "ready"; then commands on stdin:
    ports 8001 8002                    # capture TCP packets from these source ports ("ok")
    start                              # record from now on ("ok")
    stop /tmp/out.json                 # stop, write the samples, print "stopped PACKETS DROPPED"

A sample is one `turn.delta` frame seen in a packet: [source port, kernel
time in ns, offset, the upstream's write times in µs that its text carries,
1 if the frame names its conversation (a staff socket's copy) else 0].
Linux only; needs CAP_NET_RAW (root here). The kernel filters the packets
(classic BPF: IPv4, TCP, source port), so only the servers' frames are read.
"""

from __future__ import annotations

import ctypes
import json
import mmap
import re
import select
import socket
import struct
import sys
import threading
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_STATISTICS = 6
PACKET_IGNORE_OUTGOING = 23
SO_ATTACH_FILTER = 26

# A delta frame as the servers write it: orjson's compact JSON (Markezy) or json.dumps' (the relay).
_DELTA = re.compile(rb'\{"type": ?"turn\.delta"[^{}]*\}')
_OFFSET = re.compile(rb'"offset": ?(\d+)')
_WRITTEN = re.compile(rb"(?<![0-9])[0-9]{16}(?![0-9])")


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def bpf_source_ports(ports: list[int]) -> list[tuple[int, int, int, int]]:
    """Classic BPF on an Ethernet-framed packet (`lo` has a zeroed Ethernet
    header): accept unfragmented IPv4 TCP packets whose source port is one
    of `ports`; drop everything else."""
    n = len(ports)
    drop = 8 + n  # index of the final "ret #0"
    prog = [
        (0x28, 0, 0, 12),                    # ldh [12]: ethertype
        (0x15, 0, drop - 2, 0x0800),         # IPv4?
        (0x30, 0, 0, 23),                    # ldb [23]: IP protocol
        (0x15, 0, drop - 4, 6),              # TCP?
        (0x28, 0, 0, 20),                    # ldh [20]: flags and fragment offset
        (0x45, drop - 6, 0, 0x1FFF),         # a fragment: drop
        (0xB1, 0, 0, 14),                    # ldxb 4*([14]&0xf): IP header length
    ]
    prog.append((0x48, 0, 0, 14))            # ldh [x + 14]: TCP source port
    for i, port in enumerate(ports):
        # Match: jump to "accept" (right after "drop"); else on to the next port, and after the last to "drop".
        prog.append((0x15, (n - i - 1) + 1, 0, port))
    prog.append((0x06, 0, 0, 0))             # drop
    prog.append((0x06, 0, 0, 0x40000))       # accept the whole packet
    assert len(prog) == drop + 2
    return prog


PACKET_RX_RING = 5
PACKET_VERSION = 10
TPACKET_V3 = 2
TP_STATUS_USER = 1
_BLOCK_SIZE, _BLOCKS, _FRAME_SIZE = 1 << 20, 64, 1 << 11
_BLOCK_HDR = struct.Struct("=IIIII")       # tpacket_block_desc: version, offset_to_priv, block_status, num_pkts, offset_to_first_pkt
_PACKET_HDR = struct.Struct("=IIIIIIHH")   # tpacket3_hdr: next_offset, sec, nsec, snaplen, len, status, mac, net


class Capture:
    """A packet socket on `lo` with a TPACKET_V3 ring: the kernel fills blocks
    of packets, each with its timestamp, and this process walks a block once
    it is full or 10 ms old, with no system call per packet (one `recvmsg()`
    a packet cost 0.07–0.15 of a core at 200 streams, on the core the clients
    and the upstream share)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        # On lo every packet passes twice (sent, then received): keep the received copy.
        self.sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        self.set_ports([])
        self.sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
        # tpacket_req3: block size and count, frame size and count, block timeout (ms), priv size, features.
        self.sock.setsockopt(SOL_PACKET, PACKET_RX_RING, struct.pack(
            "=7I", _BLOCK_SIZE, _BLOCKS, _FRAME_SIZE, _BLOCK_SIZE * _BLOCKS // _FRAME_SIZE, 10, 0, 0))
        self.ring = mmap.mmap(self.sock.fileno(), _BLOCK_SIZE * _BLOCKS, mmap.MAP_SHARED,
                              mmap.PROT_READ | mmap.PROT_WRITE)
        self.sock.bind(("lo", 0))
        self.start_at: int | None = None
        self.stop_at: int | None = None
        self.last_ts = 0
        self.idle_since = 0
        self.raw: list[tuple[int, bytes]] = []

    def set_ports(self, ports: list[int]) -> None:
        prog = bpf_source_ports(ports) if ports else [(0x06, 0, 0, 0)]
        filters = (_SockFilter * len(prog))(*prog)
        fprog = _SockFprog(len(prog), filters)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, bytes(memoryview(fprog)))
        self._filters = filters  # the kernel copied it; kept alive anyway while attached

    def dropped(self) -> int:
        # tpacket_stats_v3: packets, drops, freeze_q_cnt (reading resets them).
        _packets, drops, _frozen = struct.unpack("III", self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 12))
        return drops

    def run(self) -> None:
        poller = select.poll()
        poller.register(self.sock.fileno(), select.POLLIN | select.POLLERR)
        ring, block = self.ring, 0
        while True:
            base = block * _BLOCK_SIZE
            _version, _priv, status, count, first = _BLOCK_HDR.unpack_from(ring, base)
            if not status & TP_STATUS_USER:
                # Longer than a block's timeout: every packet until now has been handed over.
                if not poller.poll(50):
                    self.idle_since = time.time_ns()
                continue
            offset = base + first
            window = self.start_at is not None
            for _ in range(count):
                nxt, sec, nsec, snaplen, _len, _status, mac, _net = _PACKET_HDR.unpack_from(ring, offset)
                ts = sec * 1_000_000_000 + nsec
                # The window is the packets' own times, not when this process got to them. Only
                # kept here: the parsing waits for stop, off the core the clients measure on.
                if window and ts >= self.start_at and (self.stop_at is None or ts <= self.stop_at):
                    self.raw.append((ts, ring[offset + mac:offset + mac + snaplen]))
                self.last_ts = ts
                offset += nxt
            struct.pack_into("=I", ring, base + 8, 0)  # the block back to the kernel
            block = (block + 1) % _BLOCKS


def parse(packets: list[tuple[int, bytes]]) -> list[list]:
    """The samples (see the module's docstring) in captured (time, packet) pairs."""
    samples = []
    segments = set()
    for ts, data in packets:
        ihl = (data[14] & 0x0F) * 4
        total = int.from_bytes(data[16:18], "big")
        tcp = 14 + ihl
        port = int.from_bytes(data[tcp:tcp + 2], "big")
        payload = data[tcp + (data[tcp + 12] >> 4) * 4:14 + total]
        if not payload:
            continue
        # A retransmission (a tail-loss probe on loopback, a few ms later) is the same
        # segment again: its frames left with the first copy.
        segment = (port, data[tcp + 2:tcp + 4], data[tcp + 4:tcp + 8])
        if segment in segments:
            continue
        segments.add(segment)
        for match in _DELTA.finditer(payload):
            frame = match.group(0)
            offset = _OFFSET.search(frame)
            if offset is None:
                continue
            written = [int(w) for w in _WRITTEN.findall(frame)]
            samples.append([port, ts, int(offset.group(1)), written, 1 if b'"conversation"' in frame else 0])
    return samples


def main() -> None:
    capture = Capture()
    threading.Thread(target=capture.run, daemon=True).start()
    print("ready", flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "ports":
            capture.set_ports([int(p) for p in args])
            print("ok", flush=True)
        elif command == "start":
            capture.raw = []
            capture.stop_at = None
            capture.start_at = time.time_ns()
            capture.dropped()
            print("ok", flush=True)
        elif command == "stop":
            stop_at = capture.stop_at = time.time_ns()
            # Every packet up to now read: a later one seen, or the socket idle since.
            deadline = time.monotonic() + 10
            while capture.last_ts <= stop_at and capture.idle_since <= stop_at and time.monotonic() < deadline:
                time.sleep(0.02)
            capture.start_at = None
            packets, capture.raw = capture.raw, []
            with open(args[0], "w") as f:
                json.dump(parse(packets), f)
            print(f"stopped {len(packets)} {capture.dropped()}", flush=True)


# --- the benchmark's side -----------------------------------------------------------


class WireCapture:
    """A capture process (above) driven by a benchmark."""

    def __init__(self, proc) -> None:
        self.proc = proc

    @classmethod
    def start(cls) -> "WireCapture | None":
        """The capture process (this file, on this interpreter), or None where
        packet sockets are refused (no CAP_NET_RAW, not Linux)."""
        import subprocess

        proc = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        if proc.stdout.readline().strip() != "ready":
            proc.kill()
            return None
        return cls(proc)

    def _command(self, line: str) -> str:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def ports(self, *ports: int) -> None:
        assert self._command("ports " + " ".join(str(p) for p in ports)) == "ok"

    def begin(self) -> None:
        assert self._command("start") == "ok"

    def end(self, path) -> tuple[list, int, int]:
        """The samples since begin(), the packets they came in, and the packets the kernel dropped."""
        answer = self._command(f"stop {path}").split()
        assert answer[0] == "stopped", answer
        with open(path) as f:
            samples = json.load(f)
        return samples, int(answer[1]), int(answer[2])

    def close(self) -> None:
        self.proc.terminate()


def wire_lags(samples: list, ports: set[int], *, staff: bool = False) -> list[float]:
    """Added latency (ms) of each token in the frames from `ports` (a lead's
    frames, or with `staff` a staff socket's): the frame's time at the wire
    minus the upstream's write time in the token. A turn's first frame (offset
    0) is left out, as the clients leave it to the time to first token."""
    return [(ts / 1000 - written) / 1000
            for port, ts, offset, tokens, tagged in samples
            if port in ports and offset > 0 and bool(tagged) == staff
            for written in tokens]


if __name__ == "__main__":
    main()
