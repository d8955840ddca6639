"""chat/llm/quota.py on real Redis: every lead message checks its agency's
daily LLM tokens; a busy agency's checks within a second share one read, the
process's own spending keeps that copy current, and another process's
spending shows within FRESH_SECONDS."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from chat.llm import quota

pytestmark = [pytest.mark.services]


def _count_gets(client) -> list[str]:
    sent: list[str] = []
    original = client.execute_command

    async def counting(*args, **kwargs):
        sent.append(args[0])
        return await original(*args, **kwargs)

    client.execute_command = counting
    return sent


async def test_checks_share_one_read_and_see_other_processes_within_a_second(monkeypatch):
    monkeypatch.setattr(quota, "FRESH_SECONDS", 0.3)
    agency = str(uuid.uuid4())
    client = quota._redis()
    sent = _count_gets(client)
    try:
        assert await quota.tokens_used(agency) == 0
        for _ in range(20):
            assert await quota.tokens_used(agency) == 0
        assert sent == ["GET"]
        # This process's reply: the pipeline's INCRBY answer is the new count, no read needed.
        await quota.tokens_add(agency, 170)
        sent.clear()
        assert await quota.tokens_used(agency) == 170
        assert sent == []
        # Another process spends: seen once the copy is older than FRESH_SECONDS.
        await client.incrby(quota._key(agency), 30)
        assert await quota.tokens_used(agency) == 170
        await asyncio.sleep(0.35)
        assert await quota.tokens_used(agency) == 200
        assert await quota.over_quota(agency, {"llm_daily_token_quota": 200}) is True
        assert await quota.over_quota(agency, {"llm_daily_token_quota": 201}) is False
    finally:
        del client.execute_command
        await client.delete(quota._key(agency))
        quota._seen.pop(quota._key(agency), None)
