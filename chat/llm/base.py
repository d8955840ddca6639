"""The LLM provider interface: tiny on purpose.

A provider streams a reply's text, answers structured (JSON-schema) requests,
and may embed texts. Everything a caller needs to know about failure is one
exception, `LLMUnavailable`: after the provider's own retries, the caller
degrades (offline provider, template writer) instead of handling HTTP codes.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass


class LLMUnavailable(Exception):
    """The provider could not produce (all of) a reply: errors, timeouts, a
    stream cut mid-way, invalid structured output after retries."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""


@dataclass(slots=True)
class ReplyRequest:
    """`messages` are OpenAI-style chat messages for a real LLM; `scripted` is
    the text the flow engine computed, which the offline provider streams."""

    messages: list[dict]
    scripted: str
    max_tokens: int | None = None


class LLMStream(abc.ABC):
    """An async iterator of text pieces. `usage` is set once it ends;
    `aclose()` releases the upstream promptly (a stop must take < 100 ms)."""

    usage: Usage | None = None
    first_token_at: float | None = None

    def __aiter__(self) -> AsyncIterator[str]:
        return self

    @abc.abstractmethod
    async def __anext__(self) -> str: ...

    @abc.abstractmethod
    async def aclose(self) -> None: ...


class LLMProvider(abc.ABC):
    name: str = "abstract"

    @abc.abstractmethod
    async def stream_reply(self, request: ReplyRequest) -> LLMStream: ...

    @abc.abstractmethod
    async def complete_json(
        self, *, messages: list[dict], schema: dict, schema_name: str, scripted: dict | None = None
    ) -> tuple[dict, Usage | None]: ...

    async def embed(self, texts: list[str]) -> list[list[float]] | None:
        return None
