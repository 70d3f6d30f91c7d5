"""What the running daemon answers on its control socket (the admin CLI talks to these)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from homeplm.control import ControlServer, Handler
from homeplm.errors import HomeplmError
from homeplm.explain import TurnTimer, explain
from homeplm.listener import Listener
from homeplm.pipeline import Pipeline, Stage

_LOGGER = logging.getLogger(__name__)


def make_handlers(
    pipeline: Pipeline,
    listener: Listener,
    memory: Any,
    timer: TurnTimer,
    info: dict[str, Any] | None = None,
) -> dict[str, Handler]:
    """`info` (all optional) adds to `status`: "turn_log" (an admin.TurnLog on the event bus: the
    last turns, the state, READY's load times), "load_ms" ({part: ms}, else the TurnLog's),
    "models" ({role: path}, else resolved from the settings), "mqtt_connected" (a callable)."""
    started = time.monotonic()
    info = dict(info or {})

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
        from homeplm.admin import model_paths

        turn_log = info.get("turn_log")
        mqtt = pipeline.settings.mqtt
        connected = info.get("mqtt_connected")
        if listener.muted:
            state = "muted"
        else:
            state = "listening" if turn_log is None or turn_log.phase == "idle" else turn_log.phase
        models = info.get("models") or await asyncio.to_thread(model_paths, pipeline.settings)
        return {
            "uptime_s": round(time.monotonic() - started),
            "muted": listener.muted,
            "turns": len(listener.turns),
            "state": state,
            "pid": os.getpid(),
            "models": models,
            "load_ms": info.get("load_ms") or (turn_log.load_ms if turn_log is not None else {}),
            "ready_ms": turn_log.ready_ms if turn_log is not None else None,
            "mqtt": {
                "broker": f"{mqtt.host}:{mqtt.port}" if mqtt.host else None,
                "connected": bool(connected()) if mqtt.host and callable(connected) else None,
            },
            "memory": await asyncio.to_thread(_memory_status, memory),
            "last_turns": turn_log.turns() if turn_log is not None else [],
        }

    return {"ask": ask, "memory": memory_op, "say": say, "stop": stop, "mute": mute, "status": status}


def _memory_status(memory: Any) -> dict[str, Any] | None:
    if memory is None:
        return None
    from homeplm.memory.ops import MemoryOps

    try:
        stats: dict[str, Any] = MemoryOps(memory).op_stats()
    except Exception as err:  # a status must answer even if the store is unwell
        return {
            "error": f"cannot count the memory: {err}",
            "private": bool(getattr(memory, "private", False)),
        }
    return stats


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
