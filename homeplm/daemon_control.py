"""What the running daemon answers on its control socket (the admin CLI talks to these)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from homeplm.control import ControlServer, Handler
from homeplm.errors import HomeplmError
from homeplm.explain import TurnTimer, explain
from homeplm.listener import Listener
from homeplm.pipeline import Pipeline, Stage

_LOGGER = logging.getLogger(__name__)


def make_handlers(
    pipeline: Pipeline, listener: Listener, memory: Any, timer: TurnTimer
) -> dict[str, Handler]:
    started = time.monotonic()

    async def ask(args: dict[str, Any]) -> dict[str, Any]:
        end = Stage.TTS if args.get("speak") else Stage.BRAIN
        result = await pipeline.run_text(str(args["text"]), end, source="cli")
        return explain(result, pipeline.parts.brain, timer)

    async def memory_op(args: dict[str, Any]) -> Any:
        if memory is None:
            raise HomeplmError("the memory is switched off (memory.enabled: false)", code="memory_off")
        from homeplm.memory.ops import MemoryOps

        return await asyncio.to_thread(MemoryOps(memory).call, str(args["op"]), dict(args.get("args") or {}))

    async def say(args: dict[str, Any]) -> str:
        return (await pipeline.speak(str(args["text"]))).outcome

    async def stop(_args: dict[str, Any]) -> bool:
        pipeline.stop_playback()
        return True

    async def mute(args: dict[str, Any]) -> bool:
        listener.muted = bool(args.get("on", True))
        return listener.muted

    async def status(_args: dict[str, Any]) -> dict[str, Any]:
        return {
            "uptime_s": round(time.monotonic() - started),
            "muted": listener.muted,
            "turns": len(listener.turns),
        }

    return {"ask": ask, "memory": memory_op, "say": say, "stop": stop, "mute": mute, "status": status}


EXPIRE_EVERY_S = 6 * 3600


async def expire_periodically(memory: Any, every_s: float = EXPIRE_EVERY_S) -> None:
    """Delete memories past the retention period while the daemon runs for months."""
    while memory is not None:
        await asyncio.sleep(every_s)
        try:
            if removed := await asyncio.to_thread(memory.expire):
                _LOGGER.info("expired %d memory item(s)", removed)
        except Exception:
            _LOGGER.exception("memory expiry failed; will try again later")


async def start_control(path: Any, handlers: dict[str, Handler]) -> ControlServer:
    server = ControlServer(path, handlers)
    await server.start()
    return server
