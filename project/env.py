"""Reading the deployment's configuration (CONTRACT §1) from the environment.

Kept apart from settings.py so that the few parsing rules (booleans, lists, the
development-only generated secrets) are testable and shared by settings, the
Celery app and management commands.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MARKEZY_VAR_DIR", BASE_DIR / "var"))

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    return default if value is None else int(value)


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = env_str(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def dev_secret(filename: str, factory) -> str:
    """A secret generated once into var/ so a development checkout keeps its
    sessions, tokens and encrypted rows across restarts. Production must set the
    variable instead (settings refuse to start without it when DEBUG is off)."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / filename
    if path.exists():
        return path.read_text().strip()
    value = factory()
    # Write atomically so two processes starting together agree on one value.
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(value)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def generated_secret_key() -> str:
    return secrets.token_urlsafe(50)


def generated_fernet_key() -> str:
    return Fernet.generate_key().decode()
