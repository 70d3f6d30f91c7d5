"""The Wyoming TCP server: one supervised handler task per connection, a bounded number at once,
started by the daemon when `wyoming.enabled`."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from urllib.parse import urlsplit

from wyoming.server import AsyncEventHandler, AsyncServer, HandlerFactory

from homeplm.config.schema import Settings
from homeplm.voice.pipeline import Pipeline
from homeplm.wyoming.frames import MAX_HEADER_BYTES
from homeplm.wyoming.handler import Services, WyomingHandler
from homeplm.wyoming.info import build_info

_LOGGER = logging.getLogger(__name__)

MAX_CONNECTIONS = 8
STOP_GRACE_S = 2.0


class WyomingServer(AsyncServer):
    """A TCP server for Wyoming handlers; more than `max_connections` at once are turned away."""

    def __init__(self, host: str, port: int, max_connections: int = MAX_CONNECTIONS) -> None:
        super().__init__()
        self.host = host
        self.port = port
        self.max_connections = max_connections
        self._server: asyncio.Server | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The address it listens on (the real port when it was started on port 0)."""
        if self._server is None or not self._server.sockets:
            return self.host, self.port
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def start(self, handler_factory: HandlerFactory) -> None:
        """Listen and serve in the background; raises OSError when the address is not free."""
        accept = functools.partial(self._accept, handler_factory)
        # The stream reader's line limit bounds a header: a longer one ends the connection.
        self._server = await asyncio.start_server(accept, self.host, self.port, limit=MAX_HEADER_BYTES)

    async def run(self, handler_factory: HandlerFactory) -> None:
        await self.start(handler_factory)
        assert self._server is not None
        await self._server.serve_forever()

    async def stop(self) -> None:
        """Stop listening, end every connection (cancelled after a grace period) and wait for them."""
        if self._server is not None:
            self._server.close()
        await super().stop()
        tasks = list(self._handlers)
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=STOP_GRACE_S)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), STOP_GRACE_S)

    async def _accept(
        self, handler_factory: HandlerFactory, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if len(self._handlers) >= self.max_connections:
            _LOGGER.warning(
                "wyoming: turned away %s: %d connections are open already",
                writer.get_extra_info("peername"),
                len(self._handlers),
            )
            writer.close()
            return
        handler: AsyncEventHandler = handler_factory(reader, writer)
        task = asyncio.create_task(handler.run(), name="wyoming connection")
        self._handlers[task] = handler
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._handlers.pop(task, None)
        if not task.cancelled() and (err := task.exception()) is not None:
            _LOGGER.error("wyoming: a connection failed", exc_info=err)


def parse_uri(uri: str) -> tuple[str, int]:
    """tcp://HOST:PORT → (host, port); raises ValueError for anything else."""
    parts = urlsplit(uri)
    if parts.scheme != "tcp" or not parts.hostname or parts.port is None:
        raise ValueError(f"{uri!r} is not a tcp://HOST:PORT address")
    return parts.hostname, parts.port


def services_for(settings: Settings, pipeline: Pipeline) -> Services:
    return Services(pipeline, build_info(settings, pipeline.parts), settings.wyoming.max_audio_s)


async def start_server(settings: Settings, pipeline: Pipeline) -> WyomingServer | None:
    """Serve the pipeline at `wyoming.uri`; None (and an error in the log) when that fails, so the
    rest of the assistant carries on."""
    services = services_for(settings, pipeline)
    try:
        host, port = parse_uri(settings.wyoming.uri)
        server = WyomingServer(host, port)
        await server.start(functools.partial(WyomingHandler, services))
    except (OSError, ValueError) as err:
        _LOGGER.error("wyoming: cannot listen on %s: %s", settings.wyoming.uri, err)
        return None
    offered = [name for name in ("asr", "tts", "handle") if getattr(services.info, name)]
    host, port = server.address
    _LOGGER.info("wyoming: serving %s on tcp://%s:%d", ", ".join(offered) or "nothing", host, port)
    return server
