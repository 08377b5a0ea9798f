"""The coverage watchdog every Celery worker runs beside its tasks (a consumer bootstep and one thread).

Every HEARTBEAT_INTERVAL the thread reports the chunk and merge tasks this worker holds (received, scheduled for
a retry, or running) and runs `coverage_runs_recover`, so a run whose worker died or whose messages the broker
lost is back on track within seconds, with or without beat. The thread is in the worker's main process: pool
processes busy with a chunk do not delay it. For WATCH_AFTER_CONNECT after the consumer (re)connects to the
broker it also compares the chunks sent with the messages waiting on the broker. Registered in
`config.celery_app`.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery import bootsteps
from celery.worker import state
from django.db import connections
from kombu.exceptions import ChannelError, KombuError

from insurance.services.coverage_execution import HEARTBEAT_INTERVAL
from insurance.services.coverage_recovery import coverage_heartbeat_record, coverage_runs_recover
from insurance.services.coverage_runs import FINISH_RUN, SIMULATE_CHUNK, chunk_queue

logger = logging.getLogger(__name__)

WATCH_AFTER_CONNECT = 60.0  # seconds after a broker (re)connection during which lost messages are looked for
WATCHED_TASKS = frozenset({SIMULATE_CHUNK, FINISH_RUN})


def held_task_ids() -> set[str]:
    """Ids of the chunk and merge tasks this worker process holds: received, waiting for a retry, or running."""
    for _ in range(5):
        try:  # the consumer changes these sets while we read them
            requests = [*state.reserved_requests, *state.active_requests, *state.scheduled_requests]  # type: ignore[attr-defined]
            return {request.id for request in requests if request.name in WATCHED_TASKS}
        except RuntimeError:
            time.sleep(0.01)
    return set()


class CoverageWatchdog(threading.Thread):
    """Heartbeats and recovery of coverage runs, every HEARTBEAT_INTERVAL until `stop()`."""

    def __init__(self, *, app: Any, hostname: str) -> None:
        super().__init__(name="coverage-watchdog", daemon=True)
        self.app = app
        self.hostname = hostname
        self.connected_at = 0.0  # time.monotonic() of the last broker (re)connection
        self._stopped = threading.Event()

    def broker_connected(self) -> None:
        self.connected_at = time.monotonic()

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        while not self._stopped.wait(HEARTBEAT_INTERVAL.total_seconds()):
            self.tick()
        connections.close_all()

    def tick(self) -> None:
        try:
            coverage_heartbeat_record(worker=self.hostname, task_ids=held_task_ids())
            watch_broker = time.monotonic() - self.connected_at < WATCH_AFTER_CONNECT
            coverage_runs_recover(waiting_messages=self.waiting_messages if watch_broker else None)
        except Exception:  # the database or the broker is down: try again next time, on a new connection
            logger.warning("coverage watchdog: this round failed", exc_info=True)
            connections.close_all()

    def waiting_messages(self) -> int | None:
        """Messages waiting in the chunk queue on the broker; None when it does not answer."""
        queue = chunk_queue() or self.app.conf.task_default_queue
        try:
            with self.app.connection_for_read() as connection:
                connection.ensure_connection(max_retries=1)
                try:
                    return int(connection.default_channel.queue_declare(queue=queue, passive=True).message_count)
                except ChannelError:
                    return 0  # no such queue: nothing waits in it
        except (KombuError, OSError):
            return None


_watchdog: CoverageWatchdog | None = None


class CoverageWatchdogStep(bootsteps.StartStopStep):
    """Consumer bootstep: starts the watchdog with the consumer and tells it about every broker (re)connection."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, parent: Any) -> None:
        global _watchdog  # noqa: PLW0603  (one watchdog per worker process)
        if _watchdog is None or not _watchdog.is_alive():
            _watchdog = CoverageWatchdog(app=parent.app, hostname=parent.hostname)
            _watchdog.start()
        _watchdog.broker_connected()

    def shutdown(self, parent: Any) -> None:
        global _watchdog  # noqa: PLW0603
        if _watchdog is not None:
            _watchdog.stop()
            _watchdog = None
