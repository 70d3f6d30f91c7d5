"""The daemon's local control socket: one JSON request per line, one JSON answer per line.

Only the daemon's own user and root may talk to it (checked with SO_PEERCRED), plus members of the
socket file's group (the admin group, set up by the installer).
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import json
import logging
import os
import pwd
import socket
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from homeplm.errors import HomeplmError

_LOGGER = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[Any]]
_MAX_REQUEST = 16 * 1024 * 1024  # imports of memory can be large


class ControlError(HomeplmError):
    code = "control"


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


class ControlServer:
    def __init__(self, path: Path, handlers: dict[str, Handler]) -> None:
        self.path = path
        self.handlers = handlers
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a stale socket from a killed daemon
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path), limit=_MAX_REQUEST)
        os.chmod(self.path, 0o660)
        _LOGGER.info("control socket at %s", self.path)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if not _allowed(_peer_uid(writer.get_extra_info("socket")), self.path):
                await self._send(
                    writer, {"ok": False, "error": {"code": "forbidden", "message": "not allowed"}}
                )
                return
            line = await reader.readline()
            await self._send(writer, await self._answer(line))
        except (ConnectionError, asyncio.IncompleteReadError, ValueError) as err:
            _LOGGER.warning("control connection failed: %s", err)
        finally:
            writer.close()

    async def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
            handler = self.handlers[request["cmd"]]
        except (ValueError, KeyError, TypeError):
            return {"ok": False, "error": {"code": "bad_request", "message": "unknown or malformed request"}}
        try:
            return {"ok": True, "result": await handler(request.get("args") or {})}
        except HomeplmError as err:
            return {"ok": False, "error": {"code": err.code, "message": err.message}}
        except Exception as err:
            _LOGGER.exception("control command %s failed", request.get("cmd"))
            return {"ok": False, "error": {"code": "internal", "message": str(err)}}

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, answer: dict[str, Any]) -> None:
        writer.write(json.dumps(answer).encode() + b"\n")
        await writer.drain()


def daemon_running(path: Path) -> bool:
    """True when a daemon answers on the socket."""
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def call(path: Path, cmd: str, timeout_s: float = 60.0, **args: Any) -> Any:
    """Send one request to the daemon and return its result (raises ControlError on failure)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.connect(str(path))
            sock.sendall(json.dumps({"cmd": cmd, "args": args}).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(1 << 16)
                if not chunk:
                    break
                data += chunk
        except OSError as err:
            raise ControlError(f"cannot talk to the daemon at {path}: {err}") from err
    answer = json.loads(data or b"{}")
    if not answer.get("ok"):
        error = answer.get("error") or {}
        raise ControlError(
            error.get("message", "no answer from the daemon"), code=error.get("code", "control")
        )
    return answer["result"]
