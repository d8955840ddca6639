"""The deployment files: the Swarm stack wires every service the app needs with
its settings, secrets and volumes; the proxy carries sockets and the client's
address; the image runs unprivileged with a healthcheck that works in
production; the entrypoint turns secret files into settings.

No Docker engine is needed: `docker stack config` validates the stack file
offline, `nginx -t` the proxy's configuration (each skipped without its tool).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
DOCKER = ROOT / "docker"
APP_SERVICES = ("web", "worker", "beat", "migrate")
STACK_ENV = {"MARKEZY_STACK": "markezy-staging", "MARKEZY_HOST": "staging.example.com", "MARKEZY_HTTP_PORT": "8081"}


@pytest.fixture(scope="module")
def stack() -> dict:
    return yaml.safe_load((ROOT / "docker-stack.yml").read_text())


@pytest.fixture(scope="module")
def nginx_conf() -> str:
    return (DOCKER / "nginx.conf").read_text()


@pytest.fixture(scope="module")
def healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("markezy_healthcheck", DOCKER / "healthcheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _nginx_block(conf: str, header: str) -> str:
    """The text of the `{ ... }` block opened by `header` (braces balanced)."""
    start = conf.index(header)
    depth = 0
    for position in range(conf.index("{", start), len(conf)):
        depth += {"{": 1, "}": -1}.get(conf[position], 0)
        if depth == 0:
            return conf[start : position + 1]
    raise AssertionError(f"unbalanced block {header!r}")


def _secret_targets(service: dict) -> set[str]:
    return {f"/run/secrets/{s if isinstance(s, str) else s.get('target', s['source'])}" for s in service["secrets"]}


# --- the stack -----------------------------------------------------------------


def test_every_service_the_app_needs_exists(stack):
    assert {"proxy", "web", "worker", "beat", "migrate", "mysql", "redis", "qdrant"} <= set(stack["services"])
    assert stack["version"] == "3.8"


def test_web_runs_two_replicas_updated_one_at_a_time_behind_its_healthcheck(stack):
    web = stack["services"]["web"]
    deploy = web["deploy"]
    assert deploy["replicas"] >= 2
    assert deploy["update_config"]["order"] == "start-first"
    assert deploy["update_config"]["failure_action"] == "rollback"
    assert deploy["update_config"]["parallelism"] == 1
    assert deploy["rollback_config"]["order"] == "start-first"
    assert deploy["resources"]["limits"]["memory"]
    assert web["healthcheck"]["test"] == ["CMD", "python", "/app/docker/healthcheck.py"]


def test_exactly_one_scheduler_even_during_an_update(stack):
    beat = stack["services"]["beat"]["deploy"]
    assert beat["replicas"] == 1
    assert beat["update_config"]["order"] == "stop-first"
    assert stack["services"]["worker"]["deploy"]["replicas"] >= 1


def test_migrations_are_a_one_shot_job_and_never_run_by_web(stack):
    migrate = stack["services"]["migrate"]
    assert migrate["command"] == ["migrate"]
    assert migrate["deploy"]["replicas"] == 0
    assert migrate["deploy"]["restart_policy"]["condition"] == "none"
    for name in APP_SERVICES:
        assert stack["services"][name]["environment"]["MIGRATE_ON_START"] == "0", name


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_get_the_contract_settings_and_their_secrets(stack, name):
    service = stack["services"][name]
    env = service["environment"]
    assert env["MARKEZY_ENV"] == "production"
    assert env["DATABASE_URL"].startswith("mysql://markezy@mysql:3306/")
    assert env["REDIS_URL"].startswith("redis://redis:6379/")
    assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
    assert env["CELERY_BROKER_URL"] != env["REDIS_URL"]
    assert env["QDRANT_URL"] == "http://qdrant:6333"
    assert env["TRUSTED_PROXY_COUNT"] == "1"
    assert {"ALLOWED_HOSTS", "PUBLIC_BASE_URL", "CLIENTIFY_BASE_URL", "SIGNUP_ENABLED"} <= set(env)
    file_vars = {key: value for key, value in env.items() if key.endswith("_FILE")}
    assert {"SECRET_KEY_FILE", "FIELD_ENCRYPTION_KEYS_FILE", "BLIND_INDEX_KEY_FILE", "DATABASE_PASSWORD_FILE",
            "OPENAI_API_KEY_FILE"} <= set(file_vars)
    # Every *_FILE points at a secret this service actually mounts.
    assert set(file_vars.values()) <= _secret_targets(service)


def test_secrets_are_external_and_named_per_stack(stack):
    secrets = stack["secrets"]
    assert {"secret_key", "field_encryption_keys", "mysql_password", "mysql_root_password", "openai_api_key"} <= set(secrets)
    for name, spec in secrets.items():
        assert spec["external"] is True, name
        assert spec["name"].startswith("${MARKEZY_STACK:?"), name
    mysql = stack["services"]["mysql"]
    assert {"MYSQL_PASSWORD_FILE", "MYSQL_ROOT_PASSWORD_FILE"} <= set(mysql["environment"])
    assert set(mysql["environment"][k] for k in ("MYSQL_PASSWORD_FILE", "MYSQL_ROOT_PASSWORD_FILE")) <= _secret_targets(mysql)


def test_state_lives_in_named_volumes(stack):
    assert {"mysql", "redis", "qdrant", "media", "state"} <= set(stack["volumes"])
    mounts = {name: set(service.get("volumes", [])) for name, service in stack["services"].items()}
    assert "mysql:/var/lib/mysql" in mounts["mysql"]
    assert "redis:/data" in mounts["redis"]
    assert "qdrant:/qdrant/storage" in mounts["qdrant"]
    for name in ("web", "worker"):  # the worker writes strategy PDFs, web serves them
        assert {"media:/app/var/media", "state:/app/var/state"} <= mounts[name], name
    assert "--appendonly" in stack["services"]["redis"]["command"]


def test_data_stores_are_healthchecked_and_only_on_the_internal_network(stack):
    assert stack["networks"]["backend"]["internal"] is True
    assert stack["networks"]["edge"]["driver"] == "overlay"
    for name in ("mysql", "redis", "qdrant"):
        service = stack["services"][name]
        assert service["networks"] == ["backend"], name
        assert service["healthcheck"]["test"], name
    assert "--character-set-server=utf8mb4" in stack["services"]["mysql"]["command"]
    assert stack["services"]["mysql"]["image"] == "mysql:8.4"
    assert re.fullmatch(r"qdrant/qdrant:v1\.12\.\d+", stack["services"]["qdrant"]["image"])
    # The proxy reaches web, never the data stores.
    assert stack["services"]["proxy"]["networks"] == ["edge"]


def test_proxy_is_published_in_host_mode_with_its_config(stack):
    proxy = stack["services"]["proxy"]
    assert proxy["image"] == "nginx:1.27-alpine"
    (port,) = proxy["ports"]
    assert port["mode"] == "host" and port["target"] == 80
    assert proxy["configs"] == [{"source": "nginx_conf", "target": "/etc/nginx/nginx.conf"}]
    assert stack["configs"]["nginx_conf"]["file"] == "./docker/nginx.conf"


@pytest.mark.skipif(shutil.which("docker") is None, reason="the docker client validates the stack without an engine")
def test_docker_validates_the_stack_and_refuses_it_without_a_stack_name():
    env = {**os.environ, **STACK_ENV}
    rendered = subprocess.run(["docker", "stack", "config", "-c", "docker-stack.yml"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
    assert rendered.returncode == 0, rendered.stderr
    config = yaml.safe_load(rendered.stdout)
    assert config["secrets"]["secret_key"]["name"] == "markezy-staging_secret_key"
    assert config["services"]["web"]["environment"]["PUBLIC_BASE_URL"] == "https://staging.example.com"

    env.pop("MARKEZY_STACK")
    refused = subprocess.run(["docker", "stack", "config", "-c", "docker-stack.yml"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert "MARKEZY_STACK" in refused.stderr


@pytest.mark.skipif(shutil.which("docker") is None, reason="the docker client validates the stack without an engine")
@pytest.mark.parametrize("example", sorted((DOCKER / "env").glob("*.env.example")), ids=lambda p: p.name)
def test_each_environment_file_renders_its_own_stack(example):
    # The documented way: the env file sourced into the shell that deploys.
    script = f"set -euo pipefail; set -a; . {example}; set +a; docker stack config -c docker-stack.yml"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MARKEZY_", "NGINX_"))}
    rendered = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert rendered.returncode == 0, rendered.stderr
    config = yaml.safe_load(rendered.stdout)
    stack_name = re.search(r"^MARKEZY_STACK=(\S+)$", example.read_text(), re.M)[1]
    assert {spec["name"] for spec in config["secrets"].values()} == {f"{stack_name}_{name}" for name in config["secrets"]}


# --- the proxy -------------------------------------------------------------------


def test_proxy_upgrades_websockets_with_the_forwarded_headers(nginx_conf):
    ws = _nginx_block(nginx_conf, "location /ws/")
    # A location that sets one header inherits none from above: all must be here.
    for header in ("Upgrade $http_upgrade", "Connection $connection_upgrade", "Host $host",
                   "X-Forwarded-For $remote_addr", "X-Forwarded-Proto $forwarded_proto"):
        assert f"proxy_set_header {header};" in ws, header
    read_timeout = re.search(r"proxy_read_timeout (\d+)s;", ws)
    assert read_timeout and int(read_timeout[1]) >= 3600
    assert "proxy_buffering off;" in ws


def test_proxy_resolves_the_web_vip_per_request(nginx_conf):
    assert "resolver 127.0.0.11" in nginx_conf
    assert "set $web_upstream http://web:8000;" in nginx_conf
    upstreams = re.findall(r"^\s*proxy_pass ([^;]+);", nginx_conf, re.M)
    assert upstreams and set(upstreams) == {"$web_upstream"}
    assert "client_max_body_size 25m;" in nginx_conf
    assert re.search(r"gzip_types[^;]*application/javascript[^;]*application/json", nginx_conf)
    assert "proxy_cache assets;" in _nginx_block(nginx_conf, "location /widget/")


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx -t checks the configuration when nginx is installed")
def test_nginx_accepts_the_configuration(nginx_conf, tmp_path):
    # The image's absolute paths and user, moved into tmp_path for a local check.
    (tmp_path / "cache").mkdir()
    local = (nginx_conf.replace("user nginx;", "user root;")
             .replace("/var/cache/nginx", str(tmp_path / "cache"))
             .replace("/var/run/nginx.pid", str(tmp_path / "nginx.pid")))
    (tmp_path / "nginx.conf").write_text(local)
    result = subprocess.run(["nginx", "-t", "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "error.log")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


# --- the image -------------------------------------------------------------------


def test_dockerfile_builds_in_stages_and_runs_unprivileged():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    froms = re.findall(r"^FROM (\S+) AS (\S+)$", dockerfile, re.M)
    assert [image for image, _ in froms] == ["node:20-slim", "node:20-slim", "python:3.12-slim-bookworm",
                                             "python:3.12-slim-bookworm"]
    assert re.search(r"useradd [^\n]*--uid 10001 [^\n]* markezy$", dockerfile, re.M)
    assert re.findall(r"^USER (\S+)$", dockerfile, re.M) == ["markezy"]
    assert re.search(r'^HEALTHCHECK .*\n\s+CMD \["python", "/app/docker/healthcheck.py"\]', dockerfile, re.M)
    assert 'VOLUME ["/app/var"]' in dockerfile and "EXPOSE 8000" in dockerfile
    assert "collectstatic --noinput" in dockerfile
    for variable in ("PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", "MARKEZY_ENV=production"):
        assert variable in dockerfile


def test_build_context_leaves_out_local_state():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "var", "**/node_modules", "widget/dist", "console/dist"} <= ignored


# --- the entrypoint ----------------------------------------------------------------


def test_entrypoint_parses():
    subprocess.run(["bash", "-n", str(DOCKER / "entrypoint.sh")], check=True)


def _run_entrypoint(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    base = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "MARKEZY_VAR_DIR": str(tmp_path / "var"),
        "LOG_FORMAT": "console",
    }
    return subprocess.run(["bash", str(DOCKER / "entrypoint.sh"), *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


def test_entrypoint_reads_secret_files_and_puts_the_password_in_the_database_url(tmp_path):
    password = "p@ss:w/rd#ñ 1"
    (tmp_path / "mysql_password").write_text(password + "\n")
    (tmp_path / "secret_key").write_text("from-a-secret-file\n")
    result = _run_entrypoint(
        "manage", "shell", "-c",
        "from django.conf import settings; db = settings.DATABASES['default'];"
        "print(repr((settings.SECRET_KEY, db['USER'], db['PASSWORD'], db['HOST'], db['PORT'], db['NAME'])))",
        env={
            "DATABASE_URL": "mysql://markezy@mysql:3306/markezy",
            "DATABASE_PASSWORD_FILE": str(tmp_path / "mysql_password"),
            "SECRET_KEY_FILE": str(tmp_path / "secret_key"),
        },
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == repr(
        ("from-a-secret-file", "markezy", password, "mysql", 3306, "markezy")
    )


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"SECRET_KEY": "inline", "SECRET_KEY_FILE": "/etc/hostname"}, "both SECRET_KEY and SECRET_KEY_FILE"),
        ({"OPENAI_API_KEY_FILE": "/run/secrets/absent"}, "OPENAI_API_KEY_FILE=/run/secrets/absent is not a readable file"),
    ],
)
def test_entrypoint_refuses_ambiguous_or_missing_secrets(tmp_path, env, complaint):
    result = _run_entrypoint("manage", "check", env=env, tmp_path=tmp_path)
    assert result.returncode == 64
    assert complaint in result.stderr


def test_entrypoint_rejects_an_unknown_role(tmp_path):
    result = _run_entrypoint("serve", env={}, tmp_path=tmp_path)
    assert result.returncode == 64
    assert "usage: entrypoint.sh web|worker|beat|migrate|manage" in result.stderr


# --- the healthcheck ---------------------------------------------------------------


def test_healthcheck_host_is_one_production_accepts(healthcheck, monkeypatch):
    from django.http.request import validate_host

    for allowed in (["chat.example.com", "www.example.com"], [".example.com"]):
        monkeypatch.setenv("ALLOWED_HOSTS", ",".join(allowed))
        assert validate_host(healthcheck.allowed_host(), allowed), allowed


class _LiveHandler(BaseHTTPRequestHandler):
    status = 200
    hosts: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        type(self).hosts.append(self.headers["Host"])
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def fake_web(healthcheck, monkeypatch) -> Iterator[type[_LiveHandler]]:
    handler = type("Handler", (_LiveHandler,), {"hosts": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(healthcheck, "LIVE_URL", f"http://127.0.0.1:{server.server_port}/health/live")
    yield handler
    server.shutdown()
    server.server_close()


def test_web_healthcheck_asks_liveness_with_an_allowed_host(healthcheck, fake_web, monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", "chat.example.com")
    assert healthcheck.web_is_live(timeout=2) is True
    assert fake_web.hosts == ["chat.example.com"]
    fake_web.status = 400
    assert healthcheck.web_is_live(timeout=2) is False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server for a real broker")
def test_worker_role_answers_the_healthcheck_ping_and_stops_on_sigterm(healthcheck, tmp_path, monkeypatch):
    port = _free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL)
    broker = f"redis://127.0.0.1:{port}/1"
    monkeypatch.setenv("CELERY_BROKER_URL", broker)
    worker = None
    try:
        worker = subprocess.Popen(
            ["bash", str(DOCKER / "entrypoint.sh"), "worker", "--concurrency", "1"], cwd=ROOT,
            env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                 "DJANGO_SETTINGS_MODULE": "project.settings", "MARKEZY_VAR_DIR": str(tmp_path),
                 # The worker only needs a reachable database to start; not the test run's MariaDB.
                 "DATABASE_URL": f"sqlite:///{tmp_path}/worker.sqlite3",
                 "CELERY_BROKER_URL": broker},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not healthcheck.worker_answers_ping(timeout=1):
            assert worker.poll() is None, "the worker exited"
            assert time.monotonic() < deadline, "the worker never answered"
        # `exec` in the entrypoint: SIGTERM reaches Celery, which shuts down cleanly.
        worker.terminate()
        assert worker.wait(timeout=30) == 0
        assert healthcheck.worker_answers_ping(timeout=1) is False
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
        redis.terminate()
        redis.wait(timeout=10)
