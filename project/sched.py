"""Per-thread CPU scheduling hints for the web process (Linux).

The event loop relays every token; the database threads do per-turn ORM
work that can wait a millisecond. The kernel sees neither difference: a
loop woken by a token's bytes queues behind whatever else runs on its core,
the database thread included (at 200 streaming conversations the loop
waited for a core 1.0–2.3 s of a ~6 s measured phase). Two standard,
unprivileged knobs tell it:

- the loop thread asks for a short EEVDF slice (`sched_attr.sched_runtime`
  on a `SCHED_OTHER` thread, Linux ≥ 6.12; older kernels ignore it): an
  earlier virtual deadline, so its wake-up preempts a task with the default
  slice instead of waiting for that slice to end. Its share of the CPU is
  unchanged;
- the database threads run at a higher nice value: a smaller share while
  they compete for a core with the loop (or anything else). What they do
  for one message is still done, a little later.

Measured with both (200 µs, nice 10) against neither, alternating in the
same runs at 200 streaming conversations: the loop's wait for a core
0.41–1.07 s per phase against 0.83–2.27 s, the added per-token p95
3.3–9.5 ms against 5.7–26 ms, the median token 0.7–1.2 ms against
1.3–4.4 ms; no change at 50, and time to first token did not grow. The
slice alone changed nothing measurable and the nice value alone about half
of it (bench/README.md, "Streaming, 2026-12-04 (19:49–20:33)").

Only the web process applies them (`project/asgi.py`); elsewhere (tests,
Celery workers, management commands) nothing changes. Best effort: on
another platform the call fails, is logged once, and nothing else changes.
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform
import threading
from dataclasses import dataclass

logger = logging.getLogger(__name__)

_SYSCALLS = {"x86_64": (314, 315), "aarch64": (274, 275)}  # (sched_setattr, sched_getattr)
_SCHED_OTHER = 0


class _SchedAttr(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_uint32), ("sched_policy", ctypes.c_uint32), ("sched_flags", ctypes.c_uint64),
        ("sched_nice", ctypes.c_int32), ("sched_priority", ctypes.c_uint32), ("sched_runtime", ctypes.c_uint64),
        ("sched_deadline", ctypes.c_uint64), ("sched_period", ctypes.c_uint64),
        ("sched_util_min", ctypes.c_uint32), ("sched_util_max", ctypes.c_uint32),
    ]


_libc = None
_warned = threading.Event()


def _syscall(index: int, *args) -> int:
    global _libc
    numbers = _SYSCALLS.get(platform.machine())
    if numbers is None:
        raise OSError(f"no {('sched_setattr', 'sched_getattr')[index]} number known for {platform.machine()}")
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    result = _libc.syscall(numbers[index], *args)
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
    return result


def thread_attr_get(tid: int = 0) -> tuple[int, int]:
    """(nice, slice in µs) of thread `tid` (0: the caller)."""
    attr = _SchedAttr()
    _syscall(1, ctypes.c_int(tid), ctypes.byref(attr), ctypes.c_uint(ctypes.sizeof(attr)), ctypes.c_uint(0))
    return attr.sched_nice, attr.sched_runtime // 1000


def thread_schedule(*, slice_us: int | None = None, nice_increment: int = 0) -> bool:
    """Set the calling thread's EEVDF slice (µs; 0 restores the kernel's
    default; None keeps it) and raise its nice value by `nice_increment`
    (at most to 19). Returns whether the kernel took them.

    Precondition: called from the thread to tune. A thread inherits both
    from the thread that created it, so one started by a tuned thread sets
    its own."""
    if slice_us is None and not nice_increment:
        return True
    try:
        current_nice, current_slice = thread_attr_get()
        attr = _SchedAttr(size=ctypes.sizeof(_SchedAttr), sched_policy=_SCHED_OTHER,
                          sched_nice=min(19, current_nice + nice_increment),
                          sched_runtime=(current_slice if slice_us is None else slice_us) * 1000)
        _syscall(0, ctypes.c_int(0), ctypes.byref(attr), ctypes.c_uint(0))
        return True
    except (OSError, AttributeError) as exc:
        if not _warned.is_set():
            _warned.set()
            logger.warning("thread scheduling hints not applied: %s", exc)
        return False


@dataclass(frozen=True, slots=True)
class WebTuning:
    loop_slice_us: int  # 0: the kernel's default
    db_thread_nice: int  # added to the loop's nice value (which the thread inherits); 0: unchanged


_web: WebTuning | None = None  # set once the web process's loop thread is tuned


def _env_int(name: str, default: int, *, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def loop_thread_tune() -> WebTuning:
    """Tune the calling thread as the web process's event loop
    (`MARKEZY_LOOP_SLICE_US`, default 200; 0 leaves the kernel's default)
    and record what the database threads take (`MARKEZY_DB_THREAD_NICE`,
    default 10: that much above the loop's nice value, at most 19; 0 leaves
    it). The kernel takes slices of 100 µs to 100 ms.

    Precondition: called on the thread that runs the event loop, before it
    starts the database threads."""
    global _web
    tuning = WebTuning(loop_slice_us=_env_int("MARKEZY_LOOP_SLICE_US", 200, low=0, high=100_000),
                       db_thread_nice=_env_int("MARKEZY_DB_THREAD_NICE", 10, low=0, high=19))
    if tuning.loop_slice_us:
        thread_schedule(slice_us=tuning.loop_slice_us)
    _web = tuning
    return tuning


def db_thread_tune() -> None:
    """A database thread of the web process: the kernel's default slice
    back (it was created by the loop thread) and the lower share. Outside
    the web process, nothing."""
    if _web is not None:
        thread_schedule(slice_us=0 if _web.loop_slice_us else None, nice_increment=_web.db_thread_nice)


def request_thread_tune() -> None:
    """An HTTP request thread of the web process: the kernel's default
    slice back, and the ordinary share (REST latency is a target too)."""
    if _web is not None and _web.loop_slice_us:
        thread_schedule(slice_us=0)
