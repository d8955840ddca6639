"""The offline provider: a real provider that needs no LLM.

It streams the flow engine's scripted text word by word at a natural pace,
and answers structured requests with the scripted value (the rule-based
parsers and the template writer produce those). A deployment without an
OpenAI key runs entirely on it.
"""

from __future__ import annotations

import asyncio
import re
import time

import jsonschema
from django.conf import settings

from chat.llm.base import LLMProvider, LLMStream, LLMUnavailable, ReplyRequest, Usage

_PIECES = re.compile(r"\S+\s*|\s+")


class _ScriptedStream(LLMStream):
    def __init__(self, text: str, tokens_per_second: float):
        self._pieces = _PIECES.findall(text)
        self._i = 0
        self._interval = 1.0 / tokens_per_second if tokens_per_second > 0 else 0.0
        self._start = time.monotonic()
        self._closed = False
        self.usage = None

    async def __anext__(self) -> str:
        if self._closed or self._i >= len(self._pieces):
            self.usage = Usage(prompt_tokens=0, completion_tokens=len(self._pieces), model="offline")
            raise StopAsyncIteration
        if self._interval:
            # Absolute schedule, so a busy loop does not slow the pace further.
            delay = self._start + self._i * self._interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        piece = self._pieces[self._i]
        self._i += 1
        if self.first_token_at is None:
            self.first_token_at = time.monotonic()
        return piece

    async def aclose(self) -> None:
        self._closed = True


class OfflineProvider(LLMProvider):
    name = "offline"

    def __init__(self, tokens_per_second: float | None = None):
        self.tokens_per_second = (
            settings.OFFLINE_TOKENS_PER_SECOND if tokens_per_second is None else tokens_per_second
        )

    async def stream_reply(self, request: ReplyRequest) -> LLMStream:
        return _ScriptedStream(request.scripted, self.tokens_per_second)

    async def complete_json(self, *, messages, schema, schema_name, scripted=None):
        if scripted is None:
            raise LLMUnavailable("the offline provider has nothing scripted to answer")
        try:
            jsonschema.validate(scripted, schema)
        except jsonschema.ValidationError as exc:
            raise LLMUnavailable(f"scripted answer does not match {schema_name}: {exc.message}") from exc
        return scripted, Usage(model="offline")
