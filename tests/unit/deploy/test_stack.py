"""The deployment files: the stack names every service the app needs, with
healthchecks, secrets and volumes; the image runs as a non-root user."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def stack() -> dict:
    return yaml.safe_load((ROOT / "docker-stack.yml").read_text())


def test_every_service_the_app_needs(stack):
    assert {"proxy", "web", "worker", "beat", "mysql", "redis", "qdrant"} <= set(stack["services"])


def test_web_replicas_healthchecks_and_rollback(stack):
    web = stack["services"]["web"]
    assert web["deploy"]["replicas"] >= 2
    assert web["deploy"]["update_config"]["failure_action"] == "rollback"
    assert "healthcheck" in web
    assert stack["services"]["beat"]["deploy"]["replicas"] == 1
    for name in ("mysql", "redis", "qdrant", "proxy", "worker"):
        assert "healthcheck" in stack["services"][name], name


def test_app_services_get_configuration_and_secrets(stack):
    for name in ("web", "worker", "beat"):
        service = stack["services"][name]
        env = service["environment"]
        assert {"REDIS_URL", "CELERY_BROKER_URL", "QDRANT_URL", "DATABASE_URL_FILE", "SECRET_KEY_FILE",
                "FIELD_ENCRYPTION_KEYS_FILE"} <= set(env), name
        assert env["MARKEZY_ENV"] == "production"
        assert {"secret_key", "field_encryption_keys", "database_url"} <= set(service["secrets"])
    assert {"mysql", "redis", "qdrant", "media"} <= set(stack["volumes"])
    assert stack["services"]["mysql"]["volumes"] and stack["services"]["redis"]["volumes"]


def test_proxy_upgrades_websockets():
    conf = (ROOT / "docker" / "nginx.conf").read_text()
    assert re.search(r"proxy_set_header Upgrade \$http_upgrade", conf)
    assert "proxy_set_header Connection $connection_upgrade" in conf
    assert "location /ws/" in conf


def test_dockerfile_is_multistage_non_root_with_healthcheck():
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.M)) >= 3
    assert "python:3.12-slim" in dockerfile
    assert re.search(r"^USER markezy", dockerfile, re.M)
    assert re.search(r"^HEALTHCHECK ", dockerfile, re.M)


def test_entrypoint_parses():
    subprocess.run(["bash", "-n", str(ROOT / "docker" / "entrypoint.sh")], check=True)


@pytest.mark.skipif(shutil.which("docker") is None, reason="the docker client validates the stack without an engine")
def test_docker_stack_config_validates():
    result = subprocess.run(["docker", "stack", "config", "-c", "docker-stack.yml"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
