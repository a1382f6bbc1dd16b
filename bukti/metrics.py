"""The workers' side of observability: Prometheus metrics and log context for Dramatiq.

Dramatiq's own Prometheus middleware counts messages, errors, retries and dead letters and
times each message, per actor, across every worker process (prometheus_client's
multiprocess mode), and serves them from a process of its own on
``BUKTI_WORKER_METRICS_HOST:BUKTI_WORKER_METRICS_PORT`` (loopback by default: expose it to
Prometheus deliberately). The log middleware sets each message's evidence id for every line
written while it runs, and puts the workers' lines in Bukti's format.
"""

from __future__ import annotations

import os
from typing import Any

import dramatiq

from bukti import logs
from bukti.settings import Settings

#: "0" in the environment of a Dramatiq invocation that must not serve the metrics port
EXPOSITION_ENV = "BUKTI_WORKER_METRICS_EXPOSITION"


class LogContext(dramatiq.Middleware):
    """Each message's evidence id on every log line; the workers' lines in Bukti's format."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        logs.configure_logging(self.settings.log_level, self.settings.log_format)

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        args = message.args
        logs.evidence_id.set(args[0] if args and isinstance(args[0], int) else None)

    def after_process_message(
        self, broker: dramatiq.Broker, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        logs.evidence_id.set(None)

    after_skip_message = after_process_message


def prometheus_environment(settings: Settings) -> dict[str, str]:
    """Where Dramatiq's Prometheus middleware keeps its files and serves them.

    Its exposition server runs in a process that Dramatiq's master starts, and the master
    never imports the broker module: a worker invocation must get these in its environment.
    """
    return {
        "dramatiq_prom_host": settings.worker_metrics_host,
        "dramatiq_prom_port": str(settings.worker_metrics_port),
        "dramatiq_prom_db": str(settings.data_dir.resolve() / "worker-metrics"),
    }


def add_worker_observability(broker: dramatiq.Broker, settings: Settings) -> None:
    """Add log context and (unless its port is 0) Prometheus metrics to a worker's broker."""
    broker.add_middleware(LogContext(settings))
    if settings.worker_metrics_port <= 0:
        return
    # read by Dramatiq's middleware when it is imported: set them first
    for name, value in prometheus_environment(settings).items():
        os.environ.setdefault(name, value)
    from dramatiq.middleware.prometheus import Prometheus

    class OneExpositionPerHost(Prometheus):
        """Every worker process records; one Dramatiq invocation per host serves the port."""

        @property
        def forks(self) -> list[Any]:
            # the supervisor runs one invocation per worker, each with a master that would
            # start an exposition server on the same port: all but the first are told not to
            if os.environ.get(EXPOSITION_ENV, "1") == "0":
                return []
            forks: list[Any] = super().forks
            return forks

    broker.add_middleware(OneExpositionPerHost())
