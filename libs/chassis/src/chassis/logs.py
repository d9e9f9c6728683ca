"""Logs as an event stream: one JSON object per line on stdout (pretty on a terminal).

structlog renders our own events; the stdlib root logger (uvicorn, SQLAlchemy, aiohttp...)
is routed through the same processors and renderer, so every line has one shape.
"""

from __future__ import annotations

import logging
import os
import sys
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

if os.environ.get("LOG_FORMAT") == "json" and "rich" not in sys.modules:
    # structlog imports rich (5 MiB of RSS in each process) only to draw tracebacks on a
    # terminal; a process that writes JSON lines (every one under `mosaic up`, in
    # containers and on Kubernetes) formats them as plain text (format_exc_info below).
    sys.modules["rich"] = None  # type: ignore[assignment]

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger


def _orjson_dumps(data: Any, **_: Any) -> str:
    return orjson.dumps(data, default=str).decode()


# Loggers cache their processor chain on first use (structlog's cache_logger_on_first_use),
# so what may change when logging is configured again -- in tests, several apps in one
# process -- is looked up when a line is written, not captured when the chain is built:
# the service's name and version, and the current sys.stdout (pytest swaps it per test).
_identity: dict[str, str] = {}
# Several services in one process (the in-process mode, `chassis.host`): each service's
# requests, lifespan and loops run with its own identity set here, so a line still names
# the service that wrote it. Unset in a normal service process: the process's identity.
_identity_here: ContextVar[dict[str, str] | None] = ContextVar("log_identity", default=None)


def _add_identity(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    for key, value in (_identity_here.get() or _identity).items():
        event.setdefault(key, value)
    return event


def log_as(service: str, version: str) -> Token[dict[str, str] | None]:
    """Name `service` on every line logged from this context on (for code hosting several
    services in one process); returns the token to undo it with `ContextVar.reset`."""
    return _identity_here.set({"service": service, "version": version})


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes to whatever sys.stdout is at the moment."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


# Whether lines are JSON (set by configure_logging): `log_line` then renders them itself.
_as_json = False


def log_line(logger: logging.Logger, event: str, fields: dict[str, Any]) -> None:
    """Log one info line from a hot path: the same JSON object structlog would write.

    structlog's way through the stdlib (LogRecord, handler, ProcessorFormatter) cost about
    60 µs per line here, 6 µs rendered directly, and the canonical request line is written
    for every request of every service. Same fields, same order, same output stream; on a
    terminal (pretty output), or before logging is configured at all (structlog's own
    defaults then apply, as in tests), the ordinary way is taken.
    `fields` is the line's own fields; it is extended in place.
    """
    if not _as_json:
        structlog.stdlib.get_logger(logger.name).info(event, **fields)
        return
    if not logger.isEnabledFor(logging.INFO):  # what structlog's filter_by_level checks
        return
    fields["event"] = event
    for key, value in structlog.contextvars.get_contextvars().items():
        fields.setdefault(key, value)
    fields.setdefault("level", "info")
    fields.setdefault("logger", logger.name)
    fields.setdefault("timestamp", datetime.now(UTC).isoformat().replace("+00:00", "Z"))
    _add_identity(None, "", fields)
    sys.stdout.write(_orjson_dumps(fields) + "\n")


class _LogSettings(Protocol):
    """What a process's settings say about its logs (ServiceSettings and JobSettings have it)."""

    @property
    def service_name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def log_format(self) -> str: ...
    @property
    def log_level(self) -> str: ...


def configure_logging_from(settings: _LogSettings) -> None:
    """`configure_logging` as a process's settings say (its service, LOG_FORMAT, LOG_LEVEL)."""
    configure_logging(
        service=settings.service_name,
        version=settings.version,
        log_format=settings.log_format,
        level=settings.log_level,
    )


def configure_logging(
    *, service: str, version: str, log_format: str = "auto", level: str = "info"
) -> None:
    """Configure structlog and the stdlib root logger for this process; call once at start."""
    global _as_json
    as_json = log_format == "json" or (log_format == "auto" and not sys.stdout.isatty())
    _as_json = as_json
    _identity.update(service=service, version=version)

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_identity,
    ]
    renderer: Processor
    if as_json:
        renderer = structlog.processors.JSONRenderer(serializer=_orjson_dumps)
        shared.append(structlog.processors.format_exc_info)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stdout.isatty())

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = _StdoutHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The canonical request line replaces uvicorn's access log; its error log stays.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every call's full URL at info; a path may hold a secret (a guest order
    # link), and the canonical lines already say what was served.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
