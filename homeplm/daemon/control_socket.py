"""The daemon's local control socket: one JSON request per line, one JSON answer per line.

Only the daemon's own user and root may talk to it (checked with SO_PEERCRED), plus members of the
socket file's group (the admin group, set up by the installer).

The socket stays up under hostile or broken clients: a connection must send its request line within
`timeout_s`, at most `max_connections` are open at once (a new one pushes out the oldest that has not
sent its request yet, else it gets a `busy` answer), a malformed request gets a `bad_request` answer,
and whatever a flood of clients does is logged at most once a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import json
import logging
import os
import pwd
import resource
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from homeplm.core.errors import HomeplmError

_LOGGER = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[Any]]
_MAX_REQUEST = 16 * 1024 * 1024  # imports of memory can be large
REQUEST_TIMEOUT_S = 10.0  # to send the request line (and to take the answer); a command may run longer
# Far below the usual 1,024 open files: asyncio accepts up to 100 more in a burst before any is closed.
MAX_CONNECTIONS = 32
_LOG_EVERY_S = 60.0
_ACCEPT_EXHAUSTED = "socket.accept() out of system resource"


class ControlError(HomeplmError):
    """The daemon refused a control request, or could not be reached."""

    code = "control"


class BadRequest(ControlError):
    """A request the daemon will not run as sent: the message names what is wrong."""

    code = "bad_request"


def raise_open_file_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit; return the soft limit in force.

    Why: at the usual soft limit of 1,024 a burst of connections can exhaust the descriptors, and then
    asyncio's accept loop fails (and logs) over and over. The daemon calls this once at start-up."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1 << 16
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as err:
        _LOGGER.debug("cannot raise the open file limit from %d to %d: %s", soft, target, err)
        return soft
    return target


class _Throttle:
    """Logs each kind of event at most once per period, with a count of those left out."""

    def __init__(self, every_s: float = _LOG_EVERY_S) -> None:
        self.every_s = every_s
        self._next: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def log(self, level: int, kind: str, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now < self._next.get(kind, 0.0):
            self._skipped[kind] = self._skipped.get(kind, 0) + 1
            return
        self._next[kind] = now + self.every_s
        skipped = self._skipped.pop(kind, 0)
        more = f" (and {skipped} more like it in the last {self.every_s:.0f} s)" if skipped else ""
        _LOGGER.log(level, "%s%s", message % args, more)


def _peer_uid(sock: socket.socket) -> int:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid


def _allowed(uid: int, path: Path) -> bool:
    if uid in (0, os.geteuid()):
        return True
    try:
        group = grp.getgrgid(path.stat().st_gid)
        user = pwd.getpwuid(uid)
    except (KeyError, OSError):
        return False
    return user.pw_gid == group.gr_gid or user.pw_name in group.gr_mem


def _error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


def _excerpt(line: bytes, size: int = 80) -> str:
    text = line[:size].decode(errors="replace").strip()
    return repr(text + ("…" if len(line) > size else ""))


def parse_request(line: bytes, commands: Any) -> tuple[str, dict[str, Any]]:
    """The command and its arguments from a request line; BadRequest says what is wrong with it."""
    try:
        request = json.loads(line)
    except RecursionError:
        raise BadRequest("request is nested too deeply") from None
    except ValueError as err:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise BadRequest(f"request is not valid JSON: {err}") from None
    if not isinstance(request, dict):
        raise BadRequest(f"request must be a JSON object, not {type(request).__name__}")
    cmd = request.get("cmd")
    if not isinstance(cmd, str):
        raise BadRequest('request needs "cmd", a string')
    if cmd not in commands:
        raise BadRequest(f"unknown cmd {cmd[:40]!r} (known: {', '.join(sorted(commands))})")
    args = request.get("args")
    if args is None:
        return cmd, {}
    if not isinstance(args, dict):
        raise BadRequest("args must be a JSON object")
    return cmd, args


class ControlServer:
    """The daemon's local control socket: one JSON request per connection, bounded and checked."""

    def __init__(
        self,
        path: Path,
        handlers: dict[str, Handler],
        *,
        timeout_s: float = REQUEST_TIMEOUT_S,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.path = path
        self.handlers = handlers
        self.timeout_s = timeout_s
        self.max_connections = max_connections
        self._server: asyncio.AbstractServer | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._waiting: dict[asyncio.StreamWriter, None] = {}  # no request line yet, oldest first
        self._throttle = _Throttle()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous_handler: Any = None  # the loop's exception handler before start()

    @property
    def connections(self) -> int:
        """How many connections are open now."""
        return len(self._open)

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a stale socket from a killed daemon
        self._quiet_accept_errors()
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path), limit=_MAX_REQUEST)
        os.chmod(self.path, 0o660)
        _LOGGER.info("control socket at %s", self.path)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        if self._loop is not None and self._loop.get_exception_handler() == self._on_loop_error:
            self._loop.set_exception_handler(self._previous_handler)

    def _quiet_accept_errors(self) -> None:
        # Out of descriptors, asyncio logs an error on every accept it retries (hundreds a second in
        # Python 3.11): let one a minute through, hand every other loop error on untouched.
        self._loop = asyncio.get_running_loop()
        self._previous_handler = self._loop.get_exception_handler()
        self._loop.set_exception_handler(self._on_loop_error)

    def _on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == _ACCEPT_EXHAUSTED:
            self._throttle.log(
                logging.ERROR,
                "fds",
                "out of open files: cannot accept connections (%s)",
                context.get("exception"),
            )
        elif self._previous_handler is not None:
            self._previous_handler(loop, context)
        else:
            loop.default_exception_handler(context)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if not _allowed(_peer_uid(writer.get_extra_info("socket")), self.path):
                self._throttle.log(logging.WARNING, "forbidden", "control connection refused: not allowed")
                self._say_and_close(writer, _error("forbidden", "not allowed"))
                return
            if not self._make_room():
                self._throttle.log(
                    logging.WARNING, "busy", "control socket busy: %d requests running", len(self._open)
                )
                self._say_and_close(writer, _BUSY)
                return
            self._open.add(writer)
            self._waiting[writer] = None
            await self._converse(reader, writer)
        except (ConnectionError, TimeoutError) as err:
            self._throttle.log(logging.INFO, "failed", "control connection failed: %s", str(err) or "timeout")
        finally:
            self._open.discard(writer)
            self._waiting.pop(writer, None)
            writer.close()

    def _make_room(self) -> bool:
        """Whether a new connection may stay: at the limit, the oldest one still silent makes way."""
        if len(self._open) < self.max_connections:
            return True
        if not self._waiting:
            return False
        oldest = next(iter(self._waiting))
        self._open.discard(oldest)
        self._waiting.pop(oldest)
        self._say_and_close(oldest, _BUSY)  # its own task then reads the end of the stream and stops
        self._throttle.log(
            logging.WARNING, "evict", "control socket full: closed connections that sent no request"
        )
        return True

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), self.timeout_s)
        except TimeoutError:
            self._throttle.log(
                logging.INFO, "idle", "control connection sent no request in %.0f s: closed", self.timeout_s
            )
            self._say_and_close(writer, _error("timeout", f"no request within {self.timeout_s:.0f} s"))
            return
        except ValueError:  # longer than the stream's limit
            self._say_and_close(writer, _error("bad_request", f"request longer than {_MAX_REQUEST} bytes"))
            return
        self._waiting.pop(writer, None)
        if writer not in self._open:
            return  # pushed out (and told `busy`) while its request was on the way: do not run it
        if not line.strip():
            _LOGGER.debug("control connection closed without a request")  # daemon_running() does this
            return
        answer = await self._answer(line)
        try:
            await self._send(writer, answer)
        except (ConnectionError, TimeoutError) as err:
            if answer.get("error", {}).get("code") == "bad_request":  # logged already: one line is enough
                _LOGGER.debug("control client left before its answer: %s", str(err) or "timeout")
            else:
                self._throttle.log(
                    logging.INFO, "left", "control client left before its answer: %s", str(err) or "timeout"
                )

    async def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            cmd, args = parse_request(line, self.handlers)
        except BadRequest as err:
            self._throttle.log(logging.INFO, "bad", "bad control request %s: %s", _excerpt(line), err)
            return _error(err.code, err.message)
        try:
            return {"ok": True, "result": await self.handlers[cmd](args)}
        except BadRequest as err:  # the arguments: named, never their values (what people asked)
            self._throttle.log(logging.INFO, "bad", "bad control request %r: %s", cmd, err)
            return _error(err.code, err.message)
        except HomeplmError as err:
            return _error(err.code, err.message)
        except Exception as err:
            _LOGGER.exception("control command %r failed", cmd)
            return _error("internal", str(err))

    async def _send(self, writer: asyncio.StreamWriter, answer: dict[str, Any]) -> None:
        try:
            data = json.dumps(answer).encode() + b"\n"
        except (TypeError, ValueError) as err:  # a handler returned something JSON cannot hold: a bug
            _LOGGER.exception("control answer cannot be sent")
            data = json.dumps(_error("internal", f"answer cannot be encoded: {err}")).encode() + b"\n"
        # Drain to the last byte, so that close() ends the connection at once, and give up on a client
        # that does not read: its connection must not stay open, holding the answer, for ever.
        writer.transport.set_write_buffer_limits(high=0)
        writer.write(data)
        try:
            await asyncio.wait_for(writer.drain(), self.timeout_s)
        except TimeoutError:
            writer.transport.abort()
            raise

    @staticmethod
    def _say_and_close(writer: asyncio.StreamWriter, answer: dict[str, Any]) -> None:
        # One short line fits the socket buffer: no drain to wait on, the connection goes at once.
        with contextlib.suppress(ConnectionError, RuntimeError):
            writer.write(json.dumps(answer).encode() + b"\n")
        if writer.transport.get_write_buffer_size():
            writer.transport.abort()  # its socket buffer is full: a client that does not read
        else:
            writer.close()


_BUSY = _error("busy", "the daemon has too many control connections open; try again")


def daemon_running(path: Path) -> bool:
    """True when a daemon answers on the socket."""
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5.0)
        try:
            sock.connect(str(path))
        except BlockingIOError:
            return True  # its queue of new connections is full: it runs, but is busy
        except OSError:
            return False
    return True


def _read_line(sock: socket.socket) -> bytes:
    """The answer line; a reset after (part of) it keeps what arrived."""
    data = b""
    while not data.endswith(b"\n"):
        try:
            chunk = sock.recv(1 << 16)
        except ConnectionResetError:
            if data:
                break
            raise
        if not chunk:
            break
        data += chunk
    return data


def call(path: Path, cmd: str, timeout_s: float = 60.0, **args: Any) -> Any:
    """Send one request to the daemon and return its result (raises ControlError on failure)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.connect(str(path))
            # A daemon that is busy answers and closes at once: its answer is still there to read.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(json.dumps({"cmd": cmd, "args": args}).encode() + b"\n")
            data = _read_line(sock)
        except BlockingIOError as err:
            raise ControlError(f"the daemon at {path} is busy; try again", code="busy") from err
        except OSError as err:
            raise ControlError(f"cannot talk to the daemon at {path}: {err}") from err
    try:
        answer = json.loads(data or b"{}")
    except ValueError as err:
        raise ControlError(f"garbled answer from the daemon at {path}: {err}") from err
    if not isinstance(answer, dict) or not answer.get("ok"):
        error = answer.get("error") if isinstance(answer, dict) else None
        error = error if isinstance(error, dict) else {}
        raise ControlError(
            error.get("message", "no answer from the daemon"), code=error.get("code", "control")
        )
    return answer["result"]
