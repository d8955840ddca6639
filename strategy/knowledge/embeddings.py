"""Dense embeddings through the official OpenAI SDK (any OpenAI-compatible
endpoint), only when a key is configured; without one the knowledge base runs
on its lexical vectors alone.

A sync client: indexing runs in Celery workers and the search in the
strategy task, both synchronous code. One client per configuration per
process, so its connection pool is shared.
"""

from __future__ import annotations

import threading

from django.conf import settings

BATCH = 64
_lock = threading.Lock()
_clients: dict[tuple, object] = {}


class EmbeddingsUnavailable(Exception):
    pass


class OpenAIEmbedder:
    def __init__(self, *, api_key: str, base_url: str | None, model: str, timeout: float, max_retries: int):
        from openai import OpenAI

        self.model = model
        self._client = OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)

    def embed(self, texts: list[str]) -> list[list[float]]:
        import openai

        vectors: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            batch = texts[start:start + BATCH]
            try:
                result = self._client.embeddings.create(model=self.model, input=batch)
            except openai.OpenAIError as exc:
                raise EmbeddingsUnavailable(f"embeddings failed: {type(exc).__name__}") from exc
            ordered = sorted(result.data, key=lambda item: item.index)
            if len(ordered) != len(batch):
                raise EmbeddingsUnavailable("embeddings answer has the wrong number of vectors")
            vectors.extend(list(item.embedding) for item in ordered)
        return vectors


def embedder() -> OpenAIEmbedder | None:
    """The configured embedder, or None when no OpenAI key is set."""
    if not settings.OPENAI_API_KEY:
        return None
    key = (settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL, settings.OPENAI_EMBEDDING_MODEL)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = OpenAIEmbedder(
                api_key=settings.OPENAI_API_KEY, base_url=settings.OPENAI_BASE_URL,
                model=settings.OPENAI_EMBEDDING_MODEL, timeout=settings.OPENAI_TIMEOUT,
                max_retries=settings.OPENAI_MAX_RETRIES,
            )
        return client
