from collections.abc import Iterator

import pytest

from integrations.clientify import ClientifyClient
from tests.doubles.clientify_server import ClientifyEmulator

TOKEN = "tok-agencia-a"


@pytest.fixture
def token() -> str:
    return TOKEN


@pytest.fixture
def crm() -> Iterator[ClientifyEmulator]:
    with ClientifyEmulator(tokens=[TOKEN, "tok-agencia-b"], seed=1234) as emulator:
        yield emulator


@pytest.fixture
def client(crm: ClientifyEmulator) -> Iterator[ClientifyClient]:
    # Short read timeout so "timeout after commit" faults resolve quickly.
    with ClientifyClient(crm.base_url, TOKEN, timeout=(1.0, 0.5)) as clientify:
        yield clientify
