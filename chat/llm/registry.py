"""Providers by name (Baserow's registry pattern), and the choice per agency.

The offline provider is a real entry, not a mock; tests register
deterministic fakes under their own names.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings

from chat.llm.base import LLMProvider


class ProviderRegistry:
    def __init__(self) -> None:
        self._factories: dict[str, Callable[..., LLMProvider]] = {}
        self._instances: dict[tuple, LLMProvider] = {}

    def register(self, name: str, factory: Callable[..., LLMProvider]) -> None:
        self._factories[name] = factory
        self._instances = {k: v for k, v in self._instances.items() if k[0] != name}

    def get(self, name: str, **config) -> LLMProvider:
        key = (name, tuple(sorted(config.items())))
        provider = self._instances.get(key)
        if provider is None:
            provider = self._instances[key] = self._factories[name](**config)
        return provider


def _openai(**config) -> LLMProvider:
    from chat.llm.openai_provider import OpenAIProvider

    return OpenAIProvider(**config)


def _offline(**config) -> LLMProvider:
    from chat.llm.offline import OfflineProvider

    return OfflineProvider(**config)


llm_registry = ProviderRegistry()
llm_registry.register("openai", _openai)
llm_registry.register("offline", _offline)


def provider_for_agency(agency_settings: dict | None = None) -> LLMProvider:
    """OpenAI-compatible when a key is configured (the deployment's, or the
    agency's own), else the offline provider. Instances are cached per
    configuration, so connection pools are shared."""
    agency_settings = agency_settings or {}
    forced = agency_settings.get("llm_provider")
    if forced and forced not in ("openai", "offline"):
        return llm_registry.get(forced)
    api_key = agency_settings.get("openai_api_key") or settings.OPENAI_API_KEY
    if api_key and forced != "offline":
        return llm_registry.get(
            "openai", api_key=api_key, base_url=settings.OPENAI_BASE_URL,
            model=agency_settings.get("openai_model") or settings.OPENAI_MODEL,
            embedding_model=settings.OPENAI_EMBEDDING_MODEL, timeout=settings.OPENAI_TIMEOUT,
            first_token_timeout=settings.OPENAI_FIRST_TOKEN_TIMEOUT, max_retries=settings.OPENAI_MAX_RETRIES,
            keepalive=settings.OPENAI_KEEPALIVE_SECONDS,
        )
    return llm_registry.get("offline")
