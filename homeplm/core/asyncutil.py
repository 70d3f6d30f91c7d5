"""Bridges between blocking model calls in worker threads and the asyncio loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


async def iterate_in_thread(make_iter: Callable[[], Iterator[T]]) -> AsyncIterator[T]:
    """Run a blocking iterator in a worker thread; items reach the loop via call_soon_threadsafe.

    Closing the async iterator early (cancel, break) asks the thread to stop at its next item.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()
    stop = threading.Event()

    def worker() -> None:
        try:
            for item in make_iter():
                loop.call_soon_threadsafe(queue.put_nowait, item)
                if stop.is_set():
                    break
        except BaseException as err:  # handed to the loop, re-raised there
            loop.call_soon_threadsafe(queue.put_nowait, _Failure(err))
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, _DONE)

    thread = asyncio.create_task(asyncio.to_thread(worker))
    try:
        while (item := await queue.get()) is not _DONE:
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        # Let the worker finish its current item; a cancelled caller does not wait for it.
        if not thread.done():
            thread.add_done_callback(lambda _t: None)


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error
