"""One process at a time opens the memory: an exclusive flock on `memory.lock` in the state dir.

The kernel drops a flock when its process dies, even by SIGKILL, so a crash never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from homeplm.core.errors import HomeplmError

LOCKED_MESSAGE = (
    "the memory is open in another homeplm process (the daemon?): "
    "use the CLI while the daemon runs, it goes through the daemon"
)


class MemoryLock:
    """Held from `acquire()` until `release()`; raises HomeplmError(code="memory_locked") if taken."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> MemoryLock:
        if self._fd is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            holder = _read_pid(fd)
            os.close(fd)
            where = f" (pid {holder})" if holder else ""
            raise HomeplmError(f"{LOCKED_MESSAGE}{where}", code="memory_locked") from err
        except BaseException:
            os.close(fd)
            raise
        # The pid is for people and the error message only; the flock is what excludes.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        # Closing the descriptor drops the flock; the file stays (unlinking it would race a waiter).
        os.close(fd)

    def __enter__(self) -> MemoryLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
