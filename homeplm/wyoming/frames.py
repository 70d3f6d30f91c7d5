"""Wyoming events off the network, bounded.

A frame is a JSON header line, then optional JSON data (`data_length` bytes) and an optional binary
payload (`payload_length` bytes). The wyoming package's own reader trusts its peer: a header that is
valid JSON but not an object, a negative or string length, or a length of gigabytes reaches it
unchecked (an exception in the connection's task, or memory spent on a promise). Here every size is
bounded, every read has a timeout, and any breach is one `FrameError` that ends the connection.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from wyoming.event import Event

MAX_HEADER_BYTES = 64 * 1024  # also the stream reader's line limit
MAX_DATA_BYTES = 256 * 1024  # JSON data: text to speak, a transcript, context
MAX_PAYLOAD_BYTES = 1024 * 1024  # one audio chunk (5 s of 48 kHz stereo s16 is under 1 MiB)
MAX_TYPE_CHARS = 64
IDLE_TIMEOUT_S = 60.0  # between events
FRAME_TIMEOUT_S = 10.0  # for the rest of a frame once its header has arrived


class FrameError(Exception):
    """The peer broke the protocol or a limit; the connection ends."""


async def read_event(reader: asyncio.StreamReader, idle_timeout_s: float = IDLE_TIMEOUT_S) -> Event | None:
    """The next event, or None at a clean end of the stream. Raises `FrameError`."""
    try:
        line = await asyncio.wait_for(reader.readuntil(b"\n"), idle_timeout_s)
    except asyncio.IncompleteReadError as err:
        if not err.partial.strip():
            return None
        raise FrameError("the connection ended inside a header") from None
    except asyncio.LimitOverrunError:
        raise FrameError(f"a header line longer than {MAX_HEADER_BYTES} bytes") from None
    except TimeoutError:
        raise FrameError(f"no event for {idle_timeout_s:g} s") from None
    header = _parse_header(line)
    data = header.get("data")
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise FrameError("'data' is not an object")
    data_length = _length(header, "data_length", MAX_DATA_BYTES)
    payload_length = _length(header, "payload_length", MAX_PAYLOAD_BYTES)
    if data_length:
        extra = _loads(await _read_exactly(reader, data_length), "data")
        if not isinstance(extra, dict):
            raise FrameError("the data block is not an object")
        data.update(extra)
    payload = await _read_exactly(reader, payload_length) if payload_length else None
    return Event(type=header["type"], data=data, payload=payload)


def _parse_header(line: bytes) -> dict[str, Any]:
    header = _loads(line, "header")
    if not isinstance(header, dict):
        raise FrameError("the header is not an object")
    kind = header.get("type")
    if not isinstance(kind, str) or not kind or len(kind) > MAX_TYPE_CHARS:
        raise FrameError("the header has no usable 'type'")
    return header


def _loads(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise FrameError(f"the {what} is not valid JSON") from None


def _length(header: dict[str, Any], key: str, limit: int) -> int:
    value = header.get(key)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FrameError(f"'{key}' is not a byte count")
    if value > limit:
        raise FrameError(f"'{key}' of {value} bytes is over the limit of {limit}")
    return value


async def _read_exactly(reader: asyncio.StreamReader, count: int) -> bytes:
    try:
        return await asyncio.wait_for(reader.readexactly(count), FRAME_TIMEOUT_S)
    except asyncio.IncompleteReadError:
        raise FrameError("the connection ended inside a frame") from None
    except TimeoutError:
        raise FrameError(f"a frame's body did not arrive within {FRAME_TIMEOUT_S:g} s") from None
