"""What lead sockets keep from their authentication is one object per agency
while it stays equal (chat.consumers._shared): an idle socket's memory."""

from __future__ import annotations

import uuid

import pytest

from chat import consumers


@pytest.fixture(autouse=True)
def empty():
    consumers._agency_values.clear()
    yield
    consumers._agency_values.clear()


def test_equal_values_of_one_agency_are_one_object():
    agency = uuid.uuid4()
    first = consumers._shared(agency, "settings", {"llm_provider": "openai", "scoring": {"budget": 30}})
    second = consumers._shared(agency, "settings", {"llm_provider": "openai", "scoring": {"budget": 30}})
    assert second is first
    origins = consumers._shared(agency, "origins", ("https://a.example",))
    assert consumers._shared(agency, "origins", ("https://a.example",)) is origins


def test_a_changed_value_is_what_the_next_socket_gets():
    agency = uuid.uuid4()
    old = consumers._shared(agency, "settings", {"llm_provider": "openai"})
    new = consumers._shared(agency, "settings", {"llm_provider": "offline"})
    assert new == {"llm_provider": "offline"} and new is not old
    # Sockets authenticated before keep what they read; later ones share the new value.
    assert old == {"llm_provider": "openai"}
    assert consumers._shared(agency, "settings", {"llm_provider": "offline"}) is new


def test_agencies_and_kinds_never_share():
    a, b = uuid.uuid4(), uuid.uuid4()
    mine = consumers._shared(a, "settings", {"x": 1})
    theirs = consumers._shared(b, "settings", {"x": 1})
    assert theirs is not mine
    assert consumers._shared(a, "origins", ("https://a.example",)) == ("https://a.example",)
    assert consumers._shared(a, "settings", {"x": 1}) is mine
