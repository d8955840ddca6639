"""Shared fixtures. Tests that touch models, sockets or tasks run on the real
MariaDB and Redis that scripts/test.sh starts (DATABASE_URL / REDIS_URL)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

os.environ.setdefault("MARKEZY_TESTING", "1")


@pytest.fixture(scope="session", autouse=True)
def _private_vector_store(tmp_path_factory):
    """qdrant-client's local mode locks its directory: this test process gets
    its own, so it never contends with a server or another run."""
    from django.conf import settings

    settings.QDRANT_PATH = str(tmp_path_factory.mktemp("qdrant"))
    yield


def _lock_conflict(exc: BaseException | None) -> bool:
    while exc is not None:
        if getattr(exc, "args", None) and exc.args[0] in (1205, 1213):  # lock wait timeout, deadlock
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@pytest.fixture(scope="session", autouse=True)
def _flush_outlasts_background_writes():
    """A transactional test may end while a web server it drove still
    finishes background work (the embedded task writing the strategy of a
    lead it just qualified); the teardown's flush can then deadlock on those
    rows. InnoDB rolled the whole flush back, so it is tried again shortly."""
    import time

    from django.test import testcases

    original = testcases.TransactionTestCase._fixture_teardown

    def teardown(self):
        for attempt in range(6):
            try:
                return original(self)
            except Exception as exc:
                if attempt == 5 or not _lock_conflict(exc):
                    raise
                time.sleep(0.5 * (attempt + 1))

    testcases.TransactionTestCase._fixture_teardown = teardown
    yield
    testcases.TransactionTestCase._fixture_teardown = original


@pytest.fixture(autouse=True)
def _fresh_limits(settings):
    """Each test starts with fresh abuse counters. Only those keys: flushing the
    Redis database would also wipe the channel layer under live servers."""
    from django.core.cache import cache

    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        try:
            for pattern in ("mkz:*rl:*", "mkz:tb:*"):
                keys = list(client.scan_iter(pattern, count=1000))
                if keys:
                    client.delete(*keys)
        except redis.RedisError:
            pass  # a test may have stopped Redis on purpose
        finally:
            client.close()
    else:
        cache.clear()
    yield


@dataclass
class AgencyUsers:
    agency: object
    owner: object
    admin: object
    agent: object
    viewer: object
    key: object
    password: str = "correct-horse-battery"

    def user(self, role: str):
        return getattr(self, role)


@pytest.fixture
def make_agency(db):
    from django_scopes import scopes_disabled

    from tenancy.models import Role, User, WidgetKey
    from tenancy.services import agency_create, membership_add

    counter = {"n": 0}

    def factory(name: str = "Agencia", origins: tuple[str, ...] = ("https://cliente.example",)) -> AgencyUsers:
        from tenancy.models import AllowedOrigin

        counter["n"] += 1
        tag = f"{name.lower().replace(' ', '')}{counter['n']}{os.urandom(3).hex()}"
        password = "correct-horse-battery"
        agency = agency_create(name=f"{name} {counter['n']}", owner_email=f"owner-{tag}@example.com", owner_password=password)
        with scopes_disabled():
            owner = User.objects.get(email=f"owner-{tag}@example.com")
            users = {"owner": owner}
            for role in (Role.ADMIN, Role.AGENT, Role.VIEWER):
                user = User.objects.create_user(f"{role}-{tag}@example.com", password, name=f"{role.title()} {name}")
                membership_add(agency=agency, user=user, role=role)
                users[role.value] = user
            for origin in origins:
                AllowedOrigin.objects.create(agency=agency, origin=origin)
            key = WidgetKey.objects.filter(agency=agency).first()
        return AgencyUsers(agency=agency, key=key, password=password, **users)

    return factory


@pytest.fixture
def two_agencies(make_agency):
    """Agency A and B, each with owner/admin/agent/viewer: isolation tests use it."""
    return make_agency("Alfa"), make_agency("Beta")


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def login(api):
    """Returns a function giving (client, tokens) logged in as a user."""

    def do(user, password: str = "correct-horse-battery", agency=None):
        from rest_framework.test import APIClient

        client = APIClient()
        body = {"email": user.email, "password": password}
        if agency is not None:
            body["agency"] = str(agency.id)
        response = client.post("/api/v1/auth/token", body, format="json")
        assert response.status_code == 200, response.content
        tokens = response.json()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
        return client, tokens

    return do
