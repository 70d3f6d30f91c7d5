"""One thread owns the memory store, and whoever asks it waits a bounded time.

A store call can block in native code that Python cannot interrupt (chromadb's Rust core waiting on
an SQLite lock, a disk that stopped answering). Callers, the daemon's worker threads, must get an error
instead of waiting with it: otherwise the control request never answers, `status` waits on the same
store, and the shutdown waits for them all. The thread is a daemon thread, so even a call that never
returns cannot keep the process from exiting.

This helps only while the stuck call lets other threads run. A native call that blocks holding the GIL
(chromadb's Rust core does) stops every thread: against that the store runs in a child process
(isolated.py), and this thread then waits on a pipe, which releases the GIL.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from homeplm.core.errors import HomeplmError

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")
RESTART_HINT = "restart homeplm if it does not recover"


class MemoryUnavailable(HomeplmError):
    """The store is busy past the caller's wait, stuck in a call, or closed."""

    code = "memory_unavailable"


@dataclass(eq=False)
class _Job:
    fn: Callable[[], Any]
    what: str
    timeout_s: float
    future: Future[Any] = field(default_factory=Future)
    started: float | None = None  # time.monotonic() when it began to run
    overran: bool = False  # a caller gave up on it while it ran (logged once)


class StoreWorker:
    """Runs jobs one at a time, in order, on its own thread: started on the first job, it lives until
    close() (a store process it starts is tied to it, see isolated.py)."""

    def __init__(self, name: str = "memory-store") -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()  # guards _thread, _closed and putting jobs
        self._thread: threading.Thread | None = None
        self._running: _Job | None = None
        self._closed = False

    def run(self, fn: Callable[[], _T], what: str, timeout_s: float) -> _T:
        """fn()'s result or exception; MemoryUnavailable when it is not done within `timeout_s`."""
        if threading.current_thread() is self._thread:
            return fn()  # an operation calling another: it already runs on the store's thread
        job = self._submit(fn, what, timeout_s)
        try:
            return job.future.result(timeout_s)
        except TimeoutError:
            if job.future.done():  # fn itself raised TimeoutError
                raise
            raise self._gave_up(job) from None

    def stuck(self) -> str | None:
        """Why the store cannot answer now (a job ran past its time), or None."""
        job = self._running
        if job is None or job.started is None:
            return None
        ran_s = time.monotonic() - job.started
        if ran_s <= job.timeout_s:
            return None
        return f"the memory store has not answered for {ran_s:.0f} s ({job.what}); {RESTART_HINT}"

    def close(self, fn: Callable[[], None], timeout_s: float) -> bool:
        """Run `fn` (closing the store) after the jobs already queued; then refuse new ones.
        False, logged, if it could not run in time: the process exit releases what the store holds."""
        with self._lock:
            if self._closed:
                return True
        try:
            self.run(fn, "closing", timeout_s)
        except MemoryUnavailable as err:
            _LOGGER.error("The memory was not closed: %s", err)
            return False
        finally:
            with self._lock:
                self._closed = True
                self._jobs.put(None)  # the thread ends after the jobs before it
        return True

    def _submit(self, fn: Callable[[], Any], what: str, timeout_s: float) -> _Job:
        with self._lock:
            if self._closed:
                raise MemoryUnavailable("the memory is closed")
            # Queueing behind a call that will not return would only pile up threads: fail now.
            if (why := self.stuck()) is not None:
                raise MemoryUnavailable(why)
            job = _Job(fn, what, timeout_s)
            self._jobs.put(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
                self._thread.start()
            return job

    def _gave_up(self, job: _Job) -> MemoryUnavailable:
        if job.future.cancel():  # still queued: it will not run at all
            if (why := self.stuck()) is not None:
                return MemoryUnavailable(why)
            running = self._running
            doing = running.what if running is not None else "another operation"
            return MemoryUnavailable(f"the memory is busy ({doing}); try again in a moment")
        if not job.overran:
            job.overran = True
            _LOGGER.error(
                "The memory store has not finished %s in %.0f s: memory unavailable until it does",
                job.what,
                job.timeout_s,
            )
        return MemoryUnavailable(
            f"the memory store did not finish {job.what} within {job.timeout_s:.0f} s "
            f"(it may still complete); {RESTART_HINT}"
        )

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            self._run_job(job)

    def _run_job(self, job: _Job) -> None:
        if not job.future.set_running_or_notify_cancel():
            return  # its caller gave up while it waited
        job.started = time.monotonic()
        self._running = job
        try:
            result = job.fn()
        except BaseException as err:  # handed to the caller, who re-raises it
            job.future.set_exception(err)
        else:
            job.future.set_result(result)
        finally:
            self._running = None
        if job.overran:
            _LOGGER.warning(
                "The memory store finished %s after %.0f s: available again",
                job.what,
                time.monotonic() - job.started,
            )
