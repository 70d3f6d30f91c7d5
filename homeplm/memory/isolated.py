"""The memory store in a child process, so that no store call can stop the daemon.

chromadb's Rust core holds the GIL through a call (an upsert of 5,000 items stops every other Python
thread for 1.3 s), so a call that never returns freezes the whole interpreter: no worker thread or
timeout in the daemon can help, and SIGTERM is not handled either. In a child process such a call only
stops the child: the daemon waits a bounded time, kills it (the kernel then drops its memory lock and
SQLite locks) and starts a new one on the next call.

Protocol, on a socketpair: the parent sends (opener, args), "module:function" building the store and
its arguments; the child answers ("ok", None) or an error; then each request (method, args, kwargs)
gets ("ok", result) or ("error", (class path, message, code, exit_code)).
"""

from __future__ import annotations

import ctypes
import importlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from homeplm.core.errors import HomeplmError
from homeplm.memory.types import MemoryItem, MemoryKind
from homeplm.memory.worker import RESTART_HINT, MemoryUnavailable

_LOGGER = logging.getLogger(__name__)
CALL_TIMEOUT_S = 30.0  # one call; far above what a healthy store needs
START_TIMEOUT_S = 120.0  # Python, chromadb and the embedding model, on a slow board
_BULK_FACTOR = 4  # calls over every item (items, wipe, wide searches, many deletes)
_PER_ITEM_S = 0.05  # adding: embedding and writing one item takes a few ms
_PR_SET_PDEATHSIG = 1


class IsolatedStore:
    """MemoryStore whose store lives in a child process (started on the first call).

    Not thread-safe: one caller at a time (HouseholdMemory runs every call on one thread). The child
    gets SIGKILL when the thread that started it ends, so start it from a thread that lives as long
    as the store (HouseholdMemory's store thread does).
    """

    def __init__(
        self,
        opener: str,
        *args: Any,
        call_timeout_s: float = CALL_TIMEOUT_S,
        start_timeout_s: float = START_TIMEOUT_S,
    ) -> None:
        self._opener = opener
        self._args = args
        self.call_timeout_s = call_timeout_s
        self.start_timeout_s = start_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._closed = False

    # -- MemoryStore ---------------------------------------------------------------------------------

    def add(self, items: Sequence[MemoryItem]) -> None:
        self._call("add", list(items), timeout_s=self._bulk_s(len(items)))

    def search(
        self, query: str, *, limit: int, kinds: Iterable[MemoryKind] | None = None
    ) -> list[tuple[MemoryItem, float]]:
        kinds = None if kinds is None else list(kinds)
        timeout_s = self.call_timeout_s * (_BULK_FACTOR if limit > 100 else 1)
        result: list[tuple[MemoryItem, float]] = self._call(
            "search", query, limit=limit, kinds=kinds, timeout_s=timeout_s
        )
        return result

    def get(self, item_id: str) -> MemoryItem | None:
        item: MemoryItem | None = self._call("get", item_id)
        return item

    def items(self, *, kind: MemoryKind | None = None) -> list[MemoryItem]:
        items: list[MemoryItem] = self._call("items", kind=kind, timeout_s=self._bulk_s())
        return items

    def delete(self, ids: Sequence[str]) -> int:
        return int(self._call("delete", list(ids), timeout_s=self._bulk_s()))

    def count(self) -> int:
        return int(self._call("count"))

    def wipe(self) -> None:
        self._call("wipe", timeout_s=self._bulk_s())

    def close(self) -> None:
        """Close the store in the child and let it exit; kill it if it does not."""
        self._closed = True
        if self._proc is None:
            return
        try:
            self._call("close")
        except HomeplmError as err:
            _LOGGER.warning("The memory store process did not close cleanly: %s", err)
        self._stop(wait_s=5.0)

    # -- the child -----------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def kill(self) -> None:
        """Kill the child now, from any thread: the call waiting on it ends with an error."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()

    def _bulk_s(self, items: int = 0) -> float:
        return self.call_timeout_s * _BULK_FACTOR + items * _PER_ITEM_S

    def _call(self, method: str, *args: Any, timeout_s: float | None = None, **kwargs: Any) -> Any:
        if self._closed and method != "close":
            raise MemoryUnavailable("the memory is closed")
        conn = self._connection()
        try:
            conn.send((method, args, kwargs))
            answer = _receive(conn, self.call_timeout_s if timeout_s is None else timeout_s)
        except TimeoutError:
            self._stop(wait_s=0.0)
            _LOGGER.error(
                "The memory store did not answer %s within %.0f s: its process was killed; "
                "a new one starts on the next call",
                method,
                self.call_timeout_s if timeout_s is None else timeout_s,
            )
            raise MemoryUnavailable(
                f"the memory store did not answer ({method}) in time and was restarted; try again"
            ) from None
        except (EOFError, OSError) as err:
            code = self._stop(wait_s=1.0)
            _LOGGER.error("The memory store process ended (exit status %s): %s", code, err or "EOF")
            raise MemoryUnavailable(
                f"the memory store process ended (exit status {code}); it restarts on the next call"
            ) from None
        return _result(answer)

    def _connection(self) -> Connection:
        if self._conn is not None and self._proc is not None and self._proc.poll() is None:
            return self._conn
        self._stop(wait_s=0.0)
        return self._start()

    def _start(self) -> Connection:
        ours, theirs = socket.socketpair()
        with ours, theirs:
            level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
            self._proc = subprocess.Popen(
                [sys.executable, "-m", __name__, str(theirs.fileno()), str(level)],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
            conn = Connection(os.dup(ours.fileno()))
        self._conn = conn
        try:
            conn.send((self._opener, self._args))
            _result(_receive(conn, self.start_timeout_s))
        except (TimeoutError, EOFError, OSError) as err:
            code = self._stop(wait_s=1.0)
            raise MemoryUnavailable(
                f"the memory store process did not start (exit status {code}): "
                f"{type(err).__name__} {err}; {RESTART_HINT}"
            ) from None
        except BaseException:
            self._stop(wait_s=1.0)
            raise
        return conn

    def _stop(self, wait_s: float) -> int | None:
        """End the child (after `wait_s` for it to exit by itself); its exit status."""
        proc, conn, self._proc, self._conn = self._proc, self._conn, None, None
        if conn is not None:
            conn.close()  # the child sees EOF and exits, if it can still run
        if proc is None:
            return None
        try:
            return proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()


def _receive(conn: Connection, timeout_s: float) -> Any:
    if not conn.poll(timeout_s):
        raise TimeoutError
    return conn.recv()


def _result(answer: Any) -> Any:
    status, value = answer
    if status == "ok":
        return value
    raise _rebuild(*value)


def _rebuild(kind: str, message: str, code: str, exit_code: int) -> Exception:
    """The child's error as the same HomeplmError class (or a built-in one), code and all."""
    module, _, name = kind.rpartition(".")
    cls: Any = HomeplmError
    try:
        found = getattr(importlib.import_module(module), name)
        if isinstance(found, type) and issubclass(found, Exception):
            cls = found
    except (ImportError, AttributeError, ValueError):
        pass
    if issubclass(cls, HomeplmError):
        err = cls.__new__(cls)
        Exception.__init__(err, message)  # their own __init__ may want other arguments
        err.code, err.exit_code = code, exit_code
        return err
    if kind.startswith("builtins."):
        try:
            return cls(message)
        except TypeError:
            pass
    return HomeplmError(f"memory store: {message}", code=code)


def _describe(err: BaseException) -> tuple[str, str, str, int]:
    kind = f"{type(err).__module__}.{type(err).__qualname__}"
    if isinstance(err, HomeplmError):
        return kind, err.message, err.code, err.exit_code
    return kind, str(err) or type(err).__name__, "memory_store", 1


def _die_with_parent() -> None:
    """SIGKILL when the parent (the thread that started us) ends: a store stuck in native code,
    holding the GIL, could not notice by itself, and must not keep the memory locked."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return  # not Linux: the parent's close() still ends us
    if os.getppid() == 1:  # the parent was gone before prctl
        os._exit(1)


def serve(fd: int) -> None:
    """The child: open the store, then answer requests until EOF or close."""
    conn = Connection(fd)
    store: Any = None
    try:
        opener, args = conn.recv()
        module, _, function = opener.partition(":")
        store = getattr(importlib.import_module(module), function)(*args)
        conn.send(("ok", None))
    except EOFError:
        return
    except Exception as err:
        conn.send(("error", _describe(err)))
        return
    while True:
        try:
            method, args, kwargs = conn.recv()
        except EOFError:
            break
        try:
            conn.send(("ok", getattr(store, method)(*args, **kwargs)))
        except Exception as err:
            conn.send(("error", _describe(err)))
        if method == "close":
            return
    store.close()


def main(argv: Sequence[str]) -> int:
    _die_with_parent()
    # Ctrl-C in a terminal and systemd's SIGTERM to the whole unit are for the parent, which closes
    # the store after the writes under way (or kills us, if we are stuck).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from homeplm.core.logs import setup_logging

    setup_logging(argv[1] if len(argv) > 1 else "INFO")
    started = time.monotonic()
    serve(int(argv[0]))
    _LOGGER.debug("memory store process done after %.0f s", time.monotonic() - started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
