"""Checks in code on what the assistant says, and on what leads say to it.

Output (issue 9, prompt-injection defences), applied to the stream before any
delta leaves the process:
- the system prompt's canary must never reach the lead: a turn that produces
  it is cut there and flagged;
- links are kept only to the agency's own domains; others become
  «[enlace eliminado]»; markdown images are removed.

The guard holds back only what could still turn into something it must
remove — the start of a link, of an image, or a prefix of the canary — so a
normal sentence streams through with no delay.

Input: lead messages that look like injection attempts are flagged for staff
(they are still answered, as data, by the flow).
"""

from __future__ import annotations

import functools
import re
from urllib.parse import urlsplit

from tenancy.origins import origin_matches

LINK_REMOVED = "[enlace eliminado]"
_URL = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]\"']+", re.IGNORECASE)
_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)")
_RISKY_STARTS = ("https://", "http://", "www.", "![")
_SPACE = re.compile(r"\s")
_INJECTION = re.compile(
    r"\b(?:ignor[ae]\w*|olvida\w*|forget|disregard)\b.{0,40}\b(?:instruc\w*|reglas|rules|flow|flujo|prompt)"
    r"|\b(?:system prompt|prompt del sistema|mensaje de sistema|instrucciones ocultas|hidden (?:instructions|reference))"
    r"|\b(?:tu|tus|your) (?:prompt|instrucciones|instructions|reglas|rules|referencia|reference)\b"
    r"|\b(?:revela\w*|reveal|verbatim|palabra por palabra|repite todo|repeat (?:the|everything)|print the text)\b"
    r"|\b(?:act[uú]a como|act as|you are now|ahora eres|modo desarrollador|developer mode|jailbreak|without restrictions)\b"
    r"|\b(?:otros clientes|other (?:customers|leads)|[uú]ltimo cliente|previous customer|other leads)\b",
    re.IGNORECASE,
)


class CanaryLeak(Exception):
    pass


def looks_like_injection(text: str) -> bool:
    return bool(_INJECTION.search(text or ""))


@functools.lru_cache(maxsize=64)
def _tail_prefix_pattern(markers: tuple[str, ...]) -> re.Pattern:
    """Every proper prefix of every marker, anchored at the end: the leftmost
    match is the longest prefix the text ends with (one C-level search per
    piece instead of ~40 endswith calls, bench/bench_hotpath.py). Built once
    per set of markers (one canary per deployment): escaping and joining its
    ~150 prefixes was ~40 µs of every turn's start on the event loop."""
    prefixes = sorted({m[:size] for m in markers for size in range(1, len(m))}, key=len, reverse=True)
    return re.compile("(?:" + "|".join(re.escape(p) for p in prefixes) + r")\Z")


class OutputGuard:
    def __init__(self, *, canary: str, allowed_origins: list[str]):
        self.canary = canary
        self.allowed = allowed_origins
        self.pending = ""
        self.flagged = False
        markers = tuple(m.lower() for m in (*_RISKY_STARTS, canary) if m)
        self._longest = max(len(m) for m in markers)
        self._tail_prefix = _tail_prefix_pattern(markers)

    def _allowed_link(self, url: str) -> bool:
        full = url if url.lower().startswith("http") else "https://" + url
        parts = urlsplit(full)
        origin = f"{parts.scheme}://{parts.netloc}"
        host = (parts.hostname or "").lower()
        return any(origin_matches(origin, p) or origin_matches(f"https://{host}", p) for p in self.allowed)

    def _clean(self, text: str) -> str:
        if _IMAGE.search(text):
            self.flagged = True
            text = _IMAGE.sub("", text)

        def link(match: re.Match) -> str:
            url = match.group(0).rstrip(".,;:!?")
            tail = match.group(0)[len(url):]
            if self._allowed_link(url):
                return match.group(0)
            self.flagged = True
            return LINK_REMOVED + tail

        return _URL.sub(link, text)

    def _hold_from(self, text: str) -> int:
        """Where the part that must wait for more text starts (len(text): none).

        Runs on every streamed piece: the markers are lowered once per guard
        and only the tail that could hold a marker's prefix is lowered."""
        hold = len(text)
        # An unfinished link or image: from its start to the end, until whitespace closes it.
        for start in _RISKY_STARTS:
            index = text.rfind(start)
            if index != -1 and not _SPACE.search(text, index):
                hold = min(hold, index)
        # A possible beginning of a risky start or of the canary at the very end.
        tail = text[1 - self._longest:].lower()
        match = self._tail_prefix.search(tail)
        if match is not None:
            hold = min(hold, len(text) - (len(tail) - match.start()))
        return hold

    def feed(self, piece: str) -> str:
        """Text that is safe to send now. Raises CanaryLeak (after which
        `leaked_prefix` holds what may still be sent) when the canary shows up."""
        text = self.pending + piece
        if self.canary and self.canary in text:
            self.flagged = True
            self.leaked_prefix = self._clean(text[: text.index(self.canary)])
            self.pending = ""
            raise CanaryLeak()
        hold = self._hold_from(text)
        ready, self.pending = text[:hold], text[hold:]
        return self._clean(ready)

    def finish(self) -> str:
        text, self.pending = self.pending, ""
        if self.canary and self.canary in text:
            self.flagged = True
            text = text[: text.index(self.canary)]
        return self._clean(text)
