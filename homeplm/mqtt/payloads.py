"""Payloads from the network, made safe to handle and to log.

Anything on the broker may be hostile: JSON nested a hundred thousand deep, `Infinity`, binary
garbage, control characters, megabytes of text. These helpers turn all of that into a clear
`BadPayload` (a ValueError), a short printable preview for the log, and warnings that a flood of
bad messages cannot multiply.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from typing import Any

# Deeper JSON is refused: nothing homeplm reads nests more than a few levels, and deeper data only
# moves the RecursionError somewhere else (printing it, a template, a comparison).
MAX_JSON_DEPTH = 32
PREVIEW_CHARS = 200

# C0 controls except tab and newline, DEL, and C1 controls: never meant for a speech synthesiser.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class BadPayload(ValueError):
    """A payload that is not what its topic carries (the reason is short and safe to log)."""


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999
        raise BadPayload(f"number out of range: {text[:40]}")
    return value


def _no_constant(name: str) -> Any:
    raise BadPayload(f"{name} is not JSON")  # NaN, Infinity, -Infinity


def loads_json(payload: bytes | str) -> Any:
    """Strict JSON from the network: finite numbers only, at most MAX_JSON_DEPTH deep; BadPayload if not."""
    try:
        text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
        value = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except BadPayload:
        raise
    except UnicodeDecodeError as err:
        raise BadPayload(f"not UTF-8 (byte {err.start})") from None
    except RecursionError:
        raise BadPayload("JSON nested too deeply") from None
    except ValueError as err:  # JSONDecodeError; int() over 4300 digits
        raise BadPayload(f"not JSON: {str(err)[:100]}") from None
    # Fewer brackets than the limit cannot nest that deep: small payloads skip the walk.
    if _bracket_count(text) >= MAX_JSON_DEPTH and _deeper_than(value, MAX_JSON_DEPTH):
        raise BadPayload(f"JSON nested deeper than {MAX_JSON_DEPTH}")
    return value


def _bracket_count(text: str) -> int:
    return text.count("[") + text.count("{")


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether `value` nests more than `limit` containers deep (iterative: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 >= limit:
                    return True
                stack.append((child, depth + 1))
    return False


def clean_text(text: str) -> str:
    """`text` without control characters (tab and newline stay; a carriage return becomes a newline)."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def preview(payload: bytes | str | object, limit: int = PREVIEW_CHARS) -> str:
    """A one-line, printable, short form of a payload or error message, for the log."""
    if isinstance(payload, bytes):
        text = payload[: limit * 4].decode("utf-8", "replace")
        cut, total = len(text) > limit or len(payload) > limit * 4, f"{len(payload)} bytes"
    else:
        text = str(payload)
        cut, total = len(text) > limit, f"{len(text)} characters"
    shown = _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", text[:limit])
    return f"{shown}… ({total})" if cut else shown


class WarnLimiter:
    """Log once per key per `every_s` and at most `per_minute` in all (at `level`); the rest at DEBUG.

    A bad retained message comes back after every reconnect, and a hostile client can send a
    thousand a second on a thousand topics: each problem is said once, not a thousand times.
    """

    def __init__(
        self,
        logger: logging.Logger,
        *,
        level: int = logging.WARNING,
        every_s: float = 3600.0,
        per_minute: int = 30,
        max_keys: int = 10000,
    ) -> None:
        self._logger = logger
        self._level = level
        self._every_s = every_s
        self._per_minute = per_minute
        self._max_keys = max_keys
        self._last: dict[str, float] = {}
        self._window = (0.0, 0, 0)  # start, warnings in it, warnings suppressed in it

    def warn(self, key: str, msg: str, *args: object) -> None:
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self._every_s:
            self._logger.debug(msg, *args, stacklevel=2)
            return
        if last is None and len(self._last) >= self._max_keys:
            self._last.pop(next(iter(self._last)))  # forget the oldest key
        self._last[key] = now
        level = logging.DEBUG if self._over_rate(now) else self._level
        self._logger.log(level, msg, *args, stacklevel=2)  # the caller's line, not this one

    def _over_rate(self, now: float) -> bool:
        start, count, suppressed = self._window
        if now - start >= 60.0:
            if suppressed:
                self._logger.warning("%d more warnings about MQTT messages were suppressed", suppressed)
            start, count, suppressed = now, 0, 0
        over = count >= self._per_minute
        self._window = (start, count + (not over), suppressed + over)
        return over
