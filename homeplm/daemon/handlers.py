"""What the running daemon answers on its control socket (the admin CLI talks to these)."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import time
import types
import typing
from typing import Any

from homeplm.brain.explain import TurnTimer, explain
from homeplm.core.errors import HomeplmError
from homeplm.daemon.control_socket import BadRequest, ControlServer, Handler, raise_open_file_limit
from homeplm.voice.listener import Listener
from homeplm.voice.pipeline import Pipeline, Stage

_LOGGER = logging.getLogger(__name__)


def make_handlers(
    pipeline: Pipeline,
    listener: Listener,
    memory: Any,
    timer: TurnTimer,
    info: dict[str, Any] | None = None,
    knobs: Any = None,
) -> dict[str, Handler]:
    """`info` (all optional) adds to `status`: "turn_log" (a daemon.turnlog.TurnLog on the event bus:
    the last turns, the state, READY's load times), "load_ms" ({part: ms}, else the TurnLog's),
    "models" ({role: path}, else resolved from the settings), "mqtt_connected" (a callable),
    "planner" (planner/service.Planner: timers, alarms, reminders and lists), "satellites" (a
    callable: each satellite's name, area, address, whether it is connected, its turns).
    `knobs` (daemon/knobs.Knobs): the daemon's one owner of mute and the other knobs."""
    started = time.monotonic()
    info = dict(info or {})

    # Each handler first checks its arguments (names and types), so a bad request is answered
    # `bad_request` with what is wrong, and `internal` is left for real bugs.

    async def ask(args: dict[str, Any]) -> dict[str, Any]:
        _only(args, "text", "speak")
        text, speak = _text(args, "text"), _bool(args, "speak", False)
        result = await pipeline.run_text(text, Stage.TTS if speak else Stage.BRAIN, source="cli")
        return explain(result, timer)

    async def memory_op(args: dict[str, Any]) -> Any:
        _only(args, "op", "args")
        op, op_args = _text(args, "op"), _object(args, "args")
        if memory is None:
            raise HomeplmError("the memory is switched off (memory.enabled: false)", code="memory_off")
        from homeplm.memory.ops import MemoryOps

        _check_memory_args(op, op_args)
        return await asyncio.to_thread(MemoryOps(memory).call, op, op_args)

    async def say(args: dict[str, Any]) -> str:
        _only(args, "text")
        return (await pipeline.speak(_text(args, "text"))).outcome

    async def stop(args: dict[str, Any]) -> bool:
        _only(args)
        pipeline.stop_playback()
        return True

    async def mute(args: dict[str, Any]) -> bool:
        _only(args, "on")
        if knobs is not None:
            knobs.set_muted(_bool(args, "on", True))
        else:
            listener.muted = _bool(args, "on", True)
        return listener.muted

    async def status(args: dict[str, Any]) -> dict[str, Any]:
        from homeplm.daemon.turnlog import model_paths

        _only(args)

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
            "planner": _planner_status(info.get("planner")),
            "satellites": info["satellites"]() if callable(info.get("satellites")) else [],
            "last_turns": turn_log.turns() if turn_log is not None else [],
        }

    async def planner_op(args: dict[str, Any]) -> Any:
        _only(args, "op", "args")
        op, op_args = _text(args, "op"), _object(args, "args")
        planner = info.get("planner")
        if planner is None:
            raise HomeplmError(
                "timers and lists are switched off (planner.enabled: false)", code="planner_off"
            )
        from homeplm.planner.ops import PlannerOps

        ops = PlannerOps(planner.store, planner.zone)
        try:
            return await asyncio.to_thread(ops.call, op, op_args)
        except TypeError as err:  # a misspelt argument of the operation
            raise BadRequest(f"planner {op}: {err}") from None

    handlers = {"ask": ask, "memory": memory_op, "say": say, "stop": stop, "mute": mute, "status": status}
    return {**handlers, "planner": planner_op}


# -- argument checks -----------------------------------------------------------------------------------


def _only(args: dict[str, Any], *names: str, where: str = "args") -> None:
    """A misspelt argument is an error, not silently ignored."""
    unknown = [f"{where}.{name}" for name in sorted(set(args) - set(names))]
    if unknown:
        takes = f"it takes: {', '.join(names)}" if names else "it takes none"
        raise BadRequest(f"unknown argument(s) {', '.join(unknown)[:200]} ({takes})")


def _text(args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"args.{name} is required: a non-empty string")
    return value


def _bool(args: dict[str, Any], name: str, default: bool) -> bool:
    value = args.get(name, default)
    if not isinstance(value, bool):  # the string "false" is not false
        raise BadRequest(f"args.{name} must be true or false")
    return value


def _object(args: dict[str, Any], name: str) -> dict[str, Any]:
    value = args.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"args.{name} must be a JSON object")
    return value


def _check_memory_args(op: str, args: dict[str, Any]) -> None:
    """Check a memory op's arguments against the signature of its MemoryOps method."""
    from homeplm.memory.jsonl import item_from_json
    from homeplm.memory.ops import MemoryOps
    from homeplm.memory.types import MemoryKind

    known = sorted(name[3:] for name in dir(MemoryOps) if name.startswith("op_"))
    if op not in known:
        raise BadRequest(f"unknown memory op {op[:40]!r} (known: {', '.join(known)})")
    method = getattr(MemoryOps, f"op_{op}")
    params = [p for p in inspect.signature(method).parameters.values() if p.name != "self"]
    _only(args, *(p.name for p in params), where="args.args")
    hints = typing.get_type_hints(method)
    for param in params:
        if param.name not in args:
            if param.default is inspect.Parameter.empty:
                raise BadRequest(f"args.args.{param.name} is required by memory {op}")
            continue
        hint = hints.get(param.name, Any)
        if not _fits(args[param.name], hint):
            raise BadRequest(f"args.args.{param.name} must be {_describe(hint)}")
    if op == "list" and args.get("kind") is not None and args["kind"] not in set(MemoryKind):
        raise BadRequest(f"args.args.kind must be one of {', '.join(MemoryKind)} or null")
    for index, item in enumerate((args.get("items") or []) if op == "import" else []):
        try:
            item_from_json(item)
        except (ValueError, TypeError) as err:
            raise BadRequest(f"args.args.items[{index}]: {err}") from None


def _fits(value: Any, hint: Any) -> bool:
    """Whether a decoded JSON value has the annotated type (types this does not know pass)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, option) for option in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint in (int, float):
        return isinstance(value, int if hint is int else (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is list or hint is list:
        item = (typing.get_args(hint) or (Any,))[0]
        return isinstance(value, list) and all(_fits(v, item) for v in value)
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    return True


_NAMES: dict[Any, tuple[str, str]] = {
    type(None): ("null", "nulls"),
    bool: ("true or false", "booleans"),
    int: ("an integer", "integers"),
    float: ("a number", "numbers"),
    str: ("a string", "strings"),
    dict: ("a JSON object", "JSON objects"),
}


def _describe(hint: Any, plural: bool = False) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(option, plural) for option in typing.get_args(hint))
    if origin is list or hint is list:
        return ("lists of " if plural else "a list of ") + _describe(
            (typing.get_args(hint) or (Any,))[0], plural=True
        )
    if hint is Any:
        return "anything"
    names = _NAMES.get(origin or hint)
    return names[1 if plural else 0] if names else str(hint)


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
    raise_open_file_limit()  # room for a burst of connections far beyond the socket's limit
    server = ControlServer(path, handlers)
    await server.start()
    return server


def _planner_status(planner: Any) -> dict[str, Any] | None:
    if planner is None:
        return None
    items = planner.store.items()
    kinds = {kind: sum(i.kind == kind for i in items) for kind in ("timer", "alarm", "reminder")}
    return {**kinds, "lists": {name: len(entries) for name, entries in planner.store.lists().items()}}
