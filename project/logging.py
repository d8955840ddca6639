"""Structured logging: every line is a JSON object (console-rendered in
development) carrying the request id, which follows a request into Celery tasks.

Personal data and secrets are redacted by a processor so that a careless
`log.info(..., token=...)` cannot leak them (issue 9).
"""

from __future__ import annotations

import logging
import logging.config
import re
from contextvars import ContextVar

import structlog

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

_SECRET_KEYS = re.compile(
    r"(pass(word)?|secret|token|api[_-]?key|authorization|access|refresh|email|phone|text|answers?)$",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_BEARER = re.compile(r"(Bearer|Token)\s+[A-Za-z0-9._\-]+")


def _redact_value(value):
    if isinstance(value, str):
        value = _EMAIL.sub("[email]", value)
        return _BEARER.sub(r"\1 [redacted]", value)
    return value


def redact(_logger, _name, event_dict):
    for key in list(event_dict):
        if key in ("event", "level", "timestamp", "logger", "request_id"):
            if key == "event":
                event_dict[key] = _redact_value(event_dict[key])
            continue
        if _SECRET_KEYS.search(key):
            event_dict[key] = "[redacted]"
        else:
            event_dict[key] = _redact_value(event_dict[key])
    return event_dict


def add_request_id(_logger, _name, event_dict):
    rid = request_id_var.get()
    if rid and "request_id" not in event_dict:
        event_dict["request_id"] = rid
    return event_dict


def configure_logging(*, level: str, fmt: str) -> None:
    shared = [
        structlog.contextvars.merge_contextvars,
        add_request_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    renderer = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "structured": {
                    "()": structlog.stdlib.ProcessorFormatter,
                    "processors": [
                        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        structlog.processors.format_exc_info,
                        renderer,
                    ],
                    "foreign_pre_chain": shared,
                }
            },
            "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "structured"}},
            "root": {"handlers": ["default"], "level": level},
            "loggers": {
                "django.db.backends": {"level": "WARNING"},
                "daphne": {"level": "WARNING"},
                "httpx": {"level": "WARNING"},
                # The OpenAI SDK's vendored httpx logs every request at INFO: two lines per lead message.
                "httpx2": {"level": "WARNING"},
                "celery": {"level": "INFO"},
                # WeasyPrint logs every layout step at INFO (~30 lines a PDF).
                "weasyprint": {"level": "WARNING"},
                "fontTools": {"level": "WARNING"},
            },
        }
    )
