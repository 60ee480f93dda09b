"""Waking the workers when a job commits, instead of at their next poll: the job threads of a process sleep
on ``wakes``; a job committed in this process rings it (``wake_on_commit``, called by the task backend for
every job), ``serve`` wakes its worker process through a datagram socket the worker inherits, and on
PostgreSQL the database notifies every listening worker of every committed job (the trigger of migration
core.0003_job_notify). Polling (``POLL_INTERVAL``) stays the fallback."""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import threading
import time
from typing import Any

from django.db import connection, transaction

from orderfactory import config

log = logging.getLogger("orderfactory.worker")

POLL_INTERVAL = config.number("ORDERFACTORY_WORKER_POLL_INTERVAL", 0.2, minimum=0.001)

# The PostgreSQL channel on which the database announces committed jobs (the trigger of migration
# core.0003_job_notify): every worker on PostgreSQL listens, wherever the job was enqueued.
NOTIFY_CHANNEL = "orderfactory_jobs"
# The descriptor of the datagram socket on which ``serve`` wakes its worker process (inherited from ``serve``).
WAKE_FD_ENV = "ORDERFACTORY_WORKER_WAKE_FD"


class _Wakes:
    """What this process's job threads sleep on between polls: ``ring`` wakes them all. A thread reads
    ``rings()`` before it looks for a job and waits past that count, so a ring while it looked is not lost."""

    def __init__(self) -> None:
        self._rung = threading.Condition()
        self._rings = 0
        self.listening = False  # job threads run in this process: jobs enqueued here ring them on commit

    def rings(self) -> int:
        return self._rings

    def wait(self, since: int, timeout: float) -> None:
        with self._rung:
            self._rung.wait_for(lambda: self._rings != since, timeout)

    def ring(self) -> None:
        with self._rung:
            self._rings += 1
            self._rung.notify_all()


wakes = _Wakes()

# The sending end of the socket on which ``serve`` wakes its worker process: set in ``serve`` before gunicorn
# forks its web workers, which inherit it.
_wake_sender: socket.socket | None = None


def send_wakes_to(sender: socket.socket) -> None:
    """This process wakes a worker process through ``sender`` for every job it commits (``serve``)."""
    global _wake_sender
    _wake_sender = sender


def wake_on_commit(using: str) -> None:
    """A job was written in ``using``'s current transaction: wake the workers once it commits (the task
    backend calls this for every job). On PostgreSQL the database notifies every listening worker as well."""
    if _wake_sender is not None or wakes.listening:
        transaction.on_commit(_wake, using=using)


def _wake() -> None:
    if wakes.listening:
        wakes.ring()
    if _wake_sender is not None:
        # a full buffer: the worker has wakes to read already (and it polls meanwhile anyway)
        with contextlib.suppress(OSError):
            _wake_sender.send(b"\0")


class _WakeListener(threading.Thread):
    """Rings ``wakes`` for each datagram on the socket inherited from ``serve`` (if any) and for each
    notification on ``NOTIFY_CHANNEL`` (on PostgreSQL, through a connection of its own)."""

    RECONNECT_INTERVAL = 5.0

    def __init__(self) -> None:
        super().__init__(name="orderfactory-wakes", daemon=True)
        self.stopped = threading.Event()
        fd = os.environ.get(WAKE_FD_ENV)
        # a duplicate: closing it leaves the inherited descriptor to a later listener of this process
        self.datagrams = socket.socket(fileno=os.dup(int(fd))) if fd else None
        if self.datagrams is not None:
            self.datagrams.setblocking(False)
        self.postgresql = connection.vendor == "postgresql"
        self.notifications: Any = None

    def run(self) -> None:
        next_connect = 0.0
        try:
            while not self.stopped.is_set():
                if self.postgresql and self.notifications is None and time.monotonic() >= next_connect:
                    next_connect = time.monotonic() + self.RECONNECT_INTERVAL
                    self._listen()
                sources: list[Any] = [s for s in (self.datagrams, self.notifications) if s is not None]
                if not sources:
                    self.stopped.wait(1.0)
                    continue
                try:
                    readable, _, _ = select.select(sources, [], [], 1.0)
                except (OSError, ValueError):  # the notification connection closed under us
                    self._forget_notifications()
                    continue
                if readable:
                    self._drain()
                    wakes.ring()
        finally:
            self._forget_notifications()
            if self.datagrams is not None:
                self.datagrams.close()

    def _listen(self) -> None:
        from django.db import connections

        db = connections["default"]
        try:
            listener = db.get_new_connection(db.get_connection_params())
            listener.autocommit = True
            listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        except Exception as exc:
            log.warning("cannot listen for jobs on PostgreSQL (%s); polling every %ss", exc, POLL_INTERVAL)
            return
        self.notifications = listener
        wakes.ring()  # a job may have committed while no one listened

    def _drain(self) -> None:
        if self.datagrams is not None:
            try:
                while self.datagrams.recv(4096):
                    pass
            except OSError:
                pass
        if self.notifications is not None:
            try:
                for _ in self.notifications.notifies(timeout=0):
                    pass
            except Exception:
                self._forget_notifications()

    def _forget_notifications(self) -> None:
        if self.notifications is not None:
            with contextlib.suppress(Exception):
                self.notifications.close()
            self.notifications = None

    def stop(self) -> None:
        self.stopped.set()


_listener: _WakeListener | None = None
_listening_runs = 0
_listener_guard = threading.Lock()


def listen_for_wakes() -> None:
    """Start this process's wake listener, one for however many runs of job threads (paired with
    ``stop_listening``)."""
    global _listener, _listening_runs
    with _listener_guard:
        _listening_runs += 1
        wakes.listening = True
        if _listener is None:
            _listener = _WakeListener()
            _listener.start()


def stop_listening() -> None:
    global _listener, _listening_runs
    with _listener_guard:
        _listening_runs -= 1
        if _listening_runs or _listener is None:
            return
        wakes.listening = False
        _listener.stop()
        _listener.join(5)
        _listener = None
