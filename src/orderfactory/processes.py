"""Worker processes started and kept running by another process: ``orderfactory worker --concurrency N``
supervises N single-process workers, and ``orderfactory serve`` runs its worker as child processes
(``EmbeddedWorker``) so that copies, which are CPU-bound Python, do not share the requests' interpreter
lock."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from orderfactory.wakes import WAKE_FD_ENV, send_wakes_to

log = logging.getLogger("orderfactory.worker")

PARENT_ENV = "ORDERFACTORY_WORKER_PARENT"


class _Spawned:
    """A child process started by ``os.posix_spawn``, with what ``_Children`` uses of ``subprocess.Popen``.
    ``serve`` starts its worker from a thread while gunicorn's master forks web workers: a web worker forked
    while ``Popen`` waited for its child's exec inherited the pipe of that wait and held it open for its whole
    life, and the thread waited as long. ``posix_spawn`` has no such pipe. gunicorn's master also reaps every
    child of its own (``waitpid(-1)``): a child reaped there is gone, its status unknown."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        # setpgroup: out of the terminal's process group, so Ctrl-C reaches serve only, which stops it
        self.pid = os.posix_spawn(command[0], command, env, setpgroup=0)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = 0  # reaped by gunicorn's master
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def terminate(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.05)
        return code


class _Children:
    """Worker processes (``orderfactory worker <args>``) started and kept running by this one: one that
    exits unexpectedly is started again (in ``batch`` mode, one that finished is not)."""

    def __init__(
        self,
        processes: int,
        args: list[str],
        *,
        batch: bool = False,
        env: dict[str, str] | None = None,
        spawn: bool = False,
    ) -> None:
        self.command = [sys.executable, "-m", "orderfactory.cli", "worker", *args]
        self.env = {**os.environ, **(env or {}), PARENT_ENV: str(os.getpid())}
        self.batch, self.spawn = batch, spawn
        self.children = [self._start() for _ in range(processes)]
        self.statuses: dict[int, int] = {}

    def _start(self) -> subprocess.Popen[bytes] | _Spawned:
        if self.spawn:
            return _Spawned(self.command, self.env)
        return subprocess.Popen(self.command, env=self.env)

    def check(self) -> bool:
        """Start again those that exited; False once every one finished in ``batch`` mode."""
        for i, child in enumerate(self.children):
            code = child.poll()
            if code is None or i in self.statuses:
                continue
            if self.batch:
                self.statuses[i] = code
            else:
                log.warning("worker process %d exited with %s: starting another", child.pid, code)
                self.children[i] = self._start()
        return not (self.batch and len(self.statuses) == len(self.children))

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to each (a worker ends the job it runs, then exits), then wait for them."""
        for child in self.children:
            if child.poll() is None:
                child.terminate()
        for child in self.children:
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def supervise(*, processes: int, threads: int, batch: bool, stop: threading.Event) -> int:
    """Run ``processes`` single-process workers (``orderfactory worker --threads T``) and keep them running.
    ``stop`` passes SIGTERM on and waits for them. Returns 0 once stopped, or in ``batch`` mode the highest
    exit status of the children."""
    children = _Children(processes, ["--threads", str(threads), *(["--batch"] if batch else [])], batch=batch)
    log.info("supervising %d worker processes", processes)
    while not stop.is_set() and children.check():
        stop.wait(0.5)
    children.stop()
    return max(children.statuses.values(), default=0)


class EmbeddedWorker(threading.Thread):
    """The worker of ``orderfactory serve``: ``processes`` child processes (``orderfactory worker
    --embedded``: one job thread, the periodic jobs and the scheduler), kept running by this thread of the
    serving process until ``stop``. They stop when it does, or on their own when it is gone. Jobs committed
    by the serving process wake them through a datagram socket they inherit (``wake_on_commit``)."""

    def __init__(self, processes: int = 1) -> None:
        super().__init__(name="orderfactory-embedded-worker", daemon=True)
        sender, receiver = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        sender.setblocking(False)
        send_wakes_to(sender)
        self.receiver = receiver
        self.processes = processes
        self.stopped = threading.Event()
        self.children: _Children | None = None

    def run(self) -> None:
        fd = self.receiver.fileno()
        os.set_inheritable(fd, True)  # for the worker processes, which posix_spawn starts with it
        self.children = _Children(self.processes, ["--embedded"], env={WAKE_FD_ENV: str(fd)}, spawn=True)
        while not self.stopped.wait(0.5):
            self.children.check()

    def stop(self, timeout: float = 30) -> None:
        self.stopped.set()
        if self.ident is not None:  # started
            self.join(timeout)
        if self.children is not None:
            self.children.stop(timeout)
