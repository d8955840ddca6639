"""A real Celery worker process for integration tests, on the test database
and a private Redis database as broker, so redelivery, SIGKILL and
visibility timeouts behave as in production."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Worker:
    proc: subprocess.Popen
    log_path: Path
    env: dict = field(default_factory=dict)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a lost machine would: no cleanup, no ack."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def start_worker(env: dict[str, str], log_path: Path, *, queues: str = "realtime,strategy,crm",
                 name: str = "test") -> Worker:
    full_env = {**os.environ, "MARKEZY_TESTING": "1", "DJANGO_SETTINGS_MODULE": "project.settings",
                "PYTHONUNBUFFERED": "1", **env}
    if "OPENAI_API_KEY" not in env:
        full_env.pop("OPENAI_API_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "project", "worker", "-Q", queues, "--pool=solo",
         "-n", f"{name}-{os.getpid()}-{time.monotonic_ns()}@%h", "--without-gossip", "--without-mingle",
         "--without-heartbeat", "-l", "INFO"],
        cwd=ROOT, env=full_env, stdout=open(log_path, "ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    worker = Worker(proc=proc, log_path=log_path, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited:\n{worker.log()[-3000:]}")
        if " ready." in worker.log():
            return worker
        time.sleep(0.2)
    worker.kill()
    raise RuntimeError(f"worker did not start:\n{worker.log()[-3000:]}")
