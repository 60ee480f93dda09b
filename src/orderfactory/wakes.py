"""Waking the workers when a job commits, instead of at their next poll: the job threads of a process sleep
on ``wakes``; a job committed in this process rings it (``wake_on_commit``, called by the task backend for
every job), ``serve`` wakes its worker process through a datagram socket the worker inherits, on PostgreSQL
the database notifies every listening worker of every committed job (the trigger of migration
core.0003_job_notify), and on SQLite every worker process binds a datagram socket in a directory beside the
database file, to which a process that commits a job sends a byte (``_WakeDirectory``). Polling
(``POLL_INTERVAL``) stays the fallback."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import select
import socket
import stat
import threading
import time
from typing import Any

from django.db import connection, connections, transaction

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
    directory = _WakeDirectory.of(using)
    if _wake_sender is not None or wakes.listening or directory is not None:
        transaction.on_commit(lambda: _wake(directory), using=using)


def _wake(directory: _WakeDirectory | None) -> None:
    if wakes.listening:
        wakes.ring()
    if _wake_sender is not None:
        # a full buffer: the worker has wakes to read already (and it polls meanwhile anyway)
        with contextlib.suppress(OSError):
            _wake_sender.send(b"\0")
    if directory is not None:
        directory.wake_all()


class _WakeDirectory:
    """How separate processes on one SQLite database wake each other (PostgreSQL has NOTIFY for that): each
    worker process binds a datagram socket in ``<database file>-wakes``, named ``<pid>-<random>`` (the random
    part: two containers sharing the data directory may run processes of the same pid), and a process that
    commits a job sends a byte to every socket there. No other service, and no process to ask who listens:
    the directory is the list. The directory is 0700 and its owner's, so only the service's user can send. A
    socket whose process died without removing it (SIGKILL) refuses the datagram and the sender removes it.

    A socket's address is limited to 108 bytes (104 on macOS): a directory whose path is longer is reached
    through ``/proc/self/fd/<descriptor of the directory>`` (Linux); elsewhere its workers poll. So do they
    without UNIX sockets (Windows)."""

    SOCKET_NAME = re.compile(r"[0-9]+-[0-9a-f]{8}\Z")
    ADDRESS_LIMIT = 100  # bytes of a socket's path we use: below every system's limit, with the NUL

    _of: dict[str, _WakeDirectory | None] = {}
    _guard = threading.Lock()

    def __init__(self, path: str) -> None:
        self.path = path
        self.own: str | None = None  # the name of this process's socket, once it listens
        self._fd: int | None = None  # the directory, opened when its path is too long for a socket address
        self._sender: socket.socket | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, using: str = "default") -> _WakeDirectory | None:
        """The wake directory of database ``using``: None but on a SQLite file, on a system with UNIX
        sockets."""
        db = connections[using]
        name = str(db.settings_dict.get("NAME") or "")
        if db.vendor != "sqlite" or not hasattr(socket, "AF_UNIX"):
            return None
        try:
            return cls._of[name]
        except KeyError:
            pass
        with cls._guard:
            if name not in cls._of:
                in_memory = not name or name == ":memory:" or "mode=memory" in name
                cls._of[name] = None if in_memory else cls(os.path.abspath(name) + "-wakes")
            return cls._of[name]

    def _base(self) -> str | None:
        """What a socket's path in this directory starts with: the directory's path, or a path through a
        descriptor of it when that is too long (None: neither; the directory may not exist yet)."""
        if len(os.fsencode(self.path)) + 20 <= self.ADDRESS_LIMIT:
            return self.path
        with self._lock:
            if self._fd is None:
                if not os.path.isdir("/proc/self/fd"):
                    return None
                try:
                    self._fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                except OSError:
                    return None
            return f"/proc/self/fd/{self._fd}"

    def wake_all(self) -> None:
        """A byte to every worker's socket but this process's own (its job threads were rung already)."""
        try:
            names = os.listdir(self.path)
        except OSError:  # no worker listened yet
            return
        base = self._base()
        if base is None:
            return
        sender = self._sending_socket()
        if sender is None:
            return
        for name in names:
            if name == self.own or not self.SOCKET_NAME.match(name):
                continue
            address = f"{base}/{name}"
            try:
                sender.sendto(b"\0", address)
            except ConnectionRefusedError:  # nothing bound to it: its process died
                with contextlib.suppress(OSError):
                    os.unlink(address)
            except OSError:  # removed meanwhile, or a full buffer: that worker has wakes to read already
                pass

    def _sending_socket(self) -> socket.socket | None:
        with self._lock:
            if self._sender is None:
                try:
                    self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                except OSError:
                    return None
                self._sender.setblocking(False)
            return self._sender

    def bind(self) -> tuple[socket.socket, str] | None:
        """This process's socket in the directory (created 0700 if need be) and its name, or None: it polls."""
        try:
            os.mkdir(self.path, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            log.warning("cannot create %s (%s): polling every %ss", self.path, exc.strerror, POLL_INTERVAL)
            return None
        try:
            info = os.lstat(self.path)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
                log.warning("%s is not this user's directory: polling every %ss", self.path, POLL_INTERVAL)
                return None
            if info.st_mode & 0o077:
                os.chmod(self.path, 0o700)
            base = self._base()
            if base is None:
                log.info("%s: path too long for a socket; polling every %ss", self.path, POLL_INTERVAL)
                return None
            name = f"{os.getpid()}-{secrets.token_hex(4)}"
            listening = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        except OSError as exc:
            log.warning("cannot listen for jobs in %s (%s): polling every %ss", self.path, exc, POLL_INTERVAL)
            return None
        try:
            # bound under a name senders skip, then renamed: a sender that found the file before the socket
            # was bound to it would take it for a dead worker's and remove it
            listening.bind(f"{base}/.{name}")
            os.rename(f"{base}/.{name}", f"{base}/{name}")
        except OSError as exc:
            listening.close()
            with contextlib.suppress(OSError):
                os.unlink(f"{base}/.{name}")
            log.warning("cannot listen for jobs in %s (%s): polling every %ss", self.path, exc, POLL_INTERVAL)
            return None
        listening.setblocking(False)
        self.own = name
        return listening, name

    def unbind(self, listening: socket.socket, name: str) -> None:
        """Close this process's socket ``name`` and remove it, so no one sends to it any more."""
        with self._lock:
            if self.own == name:
                self.own = None
        listening.close()
        base = self._base()
        if base is not None:
            with contextlib.suppress(OSError):
                os.unlink(f"{base}/{name}")


class _WakeListener(threading.Thread):
    """Rings ``wakes`` for each datagram on the socket inherited from ``serve`` (if any), for each datagram on
    this process's socket in the wake directory (on SQLite) and for each notification on ``NOTIFY_CHANNEL``
    (on PostgreSQL, through a connection of its own)."""

    RECONNECT_INTERVAL = 5.0

    def __init__(self) -> None:
        super().__init__(name="orderfactory-wakes", daemon=True)
        self.stopped = threading.Event()
        fd = os.environ.get(WAKE_FD_ENV)
        # a duplicate: closing it leaves the inherited descriptor to a later listener of this process
        self.datagrams = socket.socket(fileno=os.dup(int(fd))) if fd else None
        if self.datagrams is not None:
            self.datagrams.setblocking(False)
        # bound before the job threads take their first look: a job committed after that look wakes them
        self.directory = _WakeDirectory.of()
        bound = self.directory.bind() if self.directory is not None else None
        self.directed: socket.socket | None = bound[0] if bound is not None else None
        self.directed_name = bound[1] if bound is not None else ""
        self.postgresql = connection.vendor == "postgresql"
        self.notifications: Any = None

    def run(self) -> None:
        next_connect = 0.0
        try:
            while not self.stopped.is_set():
                if self.postgresql and self.notifications is None and time.monotonic() >= next_connect:
                    next_connect = time.monotonic() + self.RECONNECT_INTERVAL
                    self._listen()
                sources: list[Any] = [
                    s for s in (self.datagrams, self.directed, self.notifications) if s is not None
                ]
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
            if self.directed is not None and self.directory is not None:
                self.directory.unbind(self.directed, self.directed_name)

    def _listen(self) -> None:
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
        for datagrams in (self.datagrams, self.directed):
            if datagrams is not None:
                try:
                    while datagrams.recv(4096):
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
