"""One log format for the API, the workers and the command line.

Each line is a JSON object (``BUKTI_LOG_FORMAT=json``, the default) or a line of text for
people (``text``). Both carry what is known of the line's context, from context variables
set where it is learned: ``request_id`` (the API's middleware), ``user_id`` (authentication)
and ``evidence_id`` (a route about one item, a worker's message). An expected transient
failure (a database or Redis that went away, a network timeout) is logged as one line with
its error, not a traceback per retry; anything else keeps its traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

request_id: ContextVar[str | None] = ContextVar("bukti_request_id", default=None)
"""The API request being served (``X-Request-ID``)."""
evidence_id: ContextVar[int | None] = ContextVar("bukti_evidence_id", default=None)
"""The evidence item being worked on."""
user_id: ContextVar[int | None] = ContextVar("bukti_user_id", default=None)
"""The authenticated caller."""

_CONTEXT = (("request_id", request_id), ("evidence_id", evidence_id), ("user_id", user_id))

LogFormat = Literal["json", "text"]


def is_transient(exc: BaseException) -> bool:
    """True for a failure expected to pass by itself: a dependency unreachable for a while."""
    from bukti.errors import DependencyError

    if isinstance(exc, DependencyError | ConnectionError | TimeoutError):
        return True
    kinds = {f"{cls.__module__}.{cls.__name__}" for cls in type(exc).__mro__}
    return bool(kinds & _TRANSIENT)


#: by name, so this module needs none of these libraries to recognise their errors
_TRANSIENT = frozenset(
    {
        "sqlalchemy.exc.OperationalError",
        "sqlalchemy.exc.InterfaceError",
        "sqlalchemy.exc.DisconnectionError",
        "sqlalchemy.exc.TimeoutError",
        "redis.exceptions.ConnectionError",
        "redis.exceptions.TimeoutError",
        "botocore.exceptions.EndpointConnectionError",
        "botocore.exceptions.ConnectTimeoutError",
        "botocore.exceptions.ReadTimeoutError",
    }
)


class ContextFilter(logging.Filter):
    """Stamps each record with the context variables, and shortens transient failures."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _CONTEXT:
            if getattr(record, name, None) is None:
                setattr(record, name, var.get())
        if record.exc_info and record.exc_info[1] is not None and is_transient(record.exc_info[1]):
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({type(exc).__name__}: {_first_line(exc)})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
            record.transient = True
        return True


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no detail"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context, error."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name, _ in _CONTEXT:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if getattr(record, "transient", False):
            line["transient"] = True
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """A line for people: time, level, logger, message, then the context that is known."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        known = [
            f"{name}={getattr(record, name)}"
            for name, _ in _CONTEXT
            if getattr(record, name, None) is not None
        ]
        if not known:
            return text
        first, _, rest = text.partition("\n")
        return f"{first} [{' '.join(known)}]" + (f"\n{rest}" if rest else "")


def formatter(log_format: LogFormat) -> logging.Formatter:
    """The formatter of ``log_format``."""
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure_logging(level: str = "INFO", log_format: LogFormat = "json") -> None:
    """Send every log line, ours and our libraries', to stderr in one format.

    Handlers already on the root logger (Dramatiq's pipe to its parent process) keep their
    stream and get the format; without any, one on stderr is added.
    """
    root = logging.getLogger()
    root.setLevel(level.upper())
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    for handler in root.handlers:
        handler.setFormatter(formatter(log_format))
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())
    # uvicorn's and Dramatiq's own handlers would print a second format: theirs go to root
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "dramatiq"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
