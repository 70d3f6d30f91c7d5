"""One worker thread per model, so a backlog on one model never starves the others.

llama.cpp, Whisper and piper contexts are not thread-safe, and asyncio's shared default thread pool
is small (cores + 4): twenty questions queued for the language model once held every thread of it
while they waited for the model's lock, and the microphone's speech recognition and the control
socket's `status` waited behind them for minutes. Here each model has its own thread and its own
queue; jobs run one at a time, spoken turns (priority 0) before typed ones (priority 1), and the
shared pool stays free for short jobs.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import itertools
import logging
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
_LOGGER = logging.getLogger(__name__)
_DONE = object()

TRIM_AFTER_IDLE_S = 0.2
VOICE = 0  # a person is waiting in the room
TYPED = 1  # Home Assistant, the CLI, the control socket


class ModelWorker:
    """A single thread that runs one model's calls in priority order (FIFO within a priority)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.PriorityQueue[tuple[int, int, Callable[[], None]]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.waiting = 0  # jobs queued or running

    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=f"model-{self.name}", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        trim_pending = False
        while True:
            try:
                # After work, trim once the model has been idle a moment: the caller frees the
                # result (and what it holds on to) only after the job has returned.
                _priority, _n, job = self._jobs.get(timeout=TRIM_AFTER_IDLE_S if trim_pending else None)
            except queue.Empty:
                release_free_memory()
                trim_pending = False
                continue
            if job is _stop:
                return
            try:
                job()
            except BaseException:  # a job reports its own errors; the worker must live on
                _LOGGER.exception("model worker %s: job failed", self.name)
            del job
            trim_pending = True

    def stop(self, timeout_s: float = 10.0) -> None:
        """Let the queued jobs finish, then end the thread (native libraries must not be torn down
        under a thread that is still alive at interpreter exit: that aborted the process)."""
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._jobs.put((_LAST, next(self._order), _stop))
            thread.join(timeout_s)

    def _submit(self, job: Callable[[], None], priority: int) -> None:
        self._ensure_thread()
        self._jobs.put((priority, next(self._order), job))

    async def call(self, fn: Callable[[], T], priority: int = TYPED) -> T:
        """Run `fn()` on this model's thread and return its result."""
        future: Future[T] = Future()

        def job() -> None:
            if not future.set_running_or_notify_cancel():
                return  # the caller gave up while the job waited
            try:
                future.set_result(fn())
            except BaseException as err:
                future.set_exception(err)

        self.waiting += 1
        try:
            self._submit(job, priority)
            return await asyncio.wrap_future(future)
        finally:
            self.waiting -= 1

    async def stream(self, make_iter: Callable[[], Iterator[T]], priority: int = TYPED) -> AsyncIterator[T]:
        """Iterate a blocking iterator on this model's thread; items reach the loop as they come.

        Closing the async iterator early (cancel, break) stops the job at its next item, or before it
        starts if it is still queued.
        """
        loop = asyncio.get_running_loop()
        items: asyncio.Queue[object] = asyncio.Queue()
        stop = threading.Event()

        def put(item: object) -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(items.put_nowait, item)

        def job() -> None:
            try:
                if stop.is_set():
                    return
                for item in make_iter():
                    put(item)
                    if stop.is_set():
                        break
            except BaseException as err:  # handed to the loop, re-raised there
                put(_Failure(err))
            finally:
                put(_DONE)

        self.waiting += 1
        try:
            self._submit(job, priority)
            while (item := await items.get()) is not _DONE:
                if isinstance(item, _Failure):
                    raise item.error
                yield item  # type: ignore[misc]
        finally:
            stop.set()
            self.waiting -= 1


def _stop() -> None:
    """The sentinel job that ends a worker's thread."""


_LAST = 1 << 30  # the stop sentinel's priority: after every queued job


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _load_malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        return None


_MALLOC_TRIM = _load_malloc_trim()


def release_free_memory() -> None:
    """Give memory the models freed back to the system.

    glibc keeps freed memory in its heaps: with piper's sentence-sized buffers a process's RSS rose
    from 150 to 300–350 MB over 200–300 sentences and stayed there; trimmed when the model goes idle
    it comes back to 150 MB (a trim takes well under a millisecond).
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


_WORKERS: dict[str, ModelWorker] = {}
_WORKERS_LOCK = threading.Lock()


def worker(name: str) -> ModelWorker:
    """The process's worker for a model role ("llm", "stt", "tts")."""
    with _WORKERS_LOCK:
        if name not in _WORKERS:
            _WORKERS[name] = ModelWorker(name)
        return _WORKERS[name]


def stop_all() -> None:
    """End every worker thread (at shutdown, after the last model call)."""
    with _WORKERS_LOCK:
        workers = list(_WORKERS.values())
    for each in workers:
        each.stop()


def priority_of(source: str) -> int:
    return VOICE if source == "voice" else TYPED


def snapshot() -> dict[str, Any]:
    """Jobs queued or running per model (for `status`)."""
    with _WORKERS_LOCK:
        return {name: w.waiting for name, w in _WORKERS.items()}
