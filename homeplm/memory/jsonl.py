"""Memory in and out as JSON Lines: a lossless backup, and a chat data set for fine-tuning.

Backup lines are one MemoryItem each, every field, plus `"v": 1` (the line format's version).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from homeplm.core.errors import HomeplmError
from homeplm.memory.types import MemoryItem, MemoryKind

VERSION = 1
# Facts become a "remember this" turn; see export_dataset.
FACT_PROMPT = "Remember this about our household: {fact}"
FACT_REPLY = "Got it, I'll remember that."

_REQUIRED: dict[str, type | tuple[type, ...]] = {"id": str, "text": str, "created_at": (int, float)}
_OPTIONAL = ("speaker", "room", "route", "question", "answer")
_KNOWN = {"v", "kind", "source", "extra", *_REQUIRED, *_OPTIONAL}


class MemoryImportError(HomeplmError):
    """A JSONL import line is malformed (the message names the line)."""

    code = "memory_import"


def item_to_json(item: MemoryItem) -> dict[str, Any]:
    return {"v": VERSION, **asdict(item), "kind": str(item.kind)}


def export_items(items: Iterable[MemoryItem], path: str | Path) -> int:
    """Write every item, one per line; returns how many. Replaces `path` whole or not at all."""
    lines = [json.dumps(item_to_json(item), ensure_ascii=False) for item in items]
    _write_lines(Path(path), lines)
    return len(lines)


def import_items(path: str | Path) -> list[MemoryItem]:
    """Every item in a backup file; any bad line raises MemoryImportError naming it (nothing is kept)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise MemoryImportError(f"{path}: cannot read: {err}") from err
    items: list[MemoryItem] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = item_from_json(json.loads(line))
        except (ValueError, TypeError) as err:
            raise MemoryImportError(f"{path}: line {number}: {err}; nothing was imported") from err
        if item.id in seen:
            raise MemoryImportError(
                f"{path}: line {number}: id {item.id} appears twice; nothing was imported"
            )
        seen.add(item.id)
        items.append(item)
    return items


def item_from_json(data: Any) -> MemoryItem:
    """A MemoryItem from one decoded line; ValueError/TypeError say what is wrong."""
    if not isinstance(data, dict):
        raise TypeError("not a JSON object")
    if data.get("v") != VERSION:
        raise ValueError(f"unsupported version {data.get('v')!r} (expected {VERSION})")
    unknown = sorted(set(data) - _KNOWN)
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    for name, kind in _REQUIRED.items():
        if not isinstance(data.get(name), kind) or isinstance(data.get(name), bool):
            raise TypeError(f"field {name!r} is missing or not a {_type_name(kind)}")
    if not data["id"]:
        raise ValueError("field 'id' is empty")
    try:
        kind_value = MemoryKind(str(data.get("kind")))
    except ValueError:
        raise ValueError(f"field 'kind' must be one of {', '.join(MemoryKind)}") from None
    for name in (*_OPTIONAL, "source"):
        if data.get(name) is not None and not isinstance(data[name], str):
            raise TypeError(f"field {name!r} is not a string")
    extra = data.get("extra") or {}
    if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
        raise TypeError("field 'extra' is not an object of strings")
    return MemoryItem(
        id=data["id"],
        kind=kind_value,
        text=data["text"],
        created_at=float(data["created_at"]),
        source=data.get("source") or "voice",
        extra=dict(extra),
        **{name: data.get(name) for name in _OPTIONAL},
    )


def export_dataset(items: Iterable[MemoryItem], path: str | Path, system_prompt: str) -> int:
    """Chat-format JSONL (`{"messages": [...]}` per line) for fine-tuning a personal model.

    An exchange becomes system / user question / assistant answer. A fact becomes system / user
    "Remember this about our household: <fact>" / assistant "Got it, I'll remember that.": the model
    learns how it is told things and how to acknowledge them, in the household's own words. The facts
    themselves reach the model at run time through memory retrieval, which stays correct when a fact
    is forgotten (a fine-tuned weight would not forget). Returns the number of lines written.
    """
    system = {"role": "system", "content": system_prompt}
    lines = []
    for item in items:
        if item.kind == MemoryKind.EXCHANGE:
            if not item.question or not item.answer:
                continue
            turn = [{"role": "user", "content": item.question}, {"role": "assistant", "content": item.answer}]
        else:
            prompt = FACT_PROMPT.format(fact=item.text)
            turn = [{"role": "user", "content": prompt}, {"role": "assistant", "content": FACT_REPLY}]
        lines.append(json.dumps({"messages": [system, *turn]}, ensure_ascii=False))
    _write_lines(Path(path), lines)
    return len(lines)


def _write_lines(path: Path, lines: list[str]) -> None:
    # Personal data: owner-only, and written to a temporary file first so a crash never leaves half.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.writelines(line + "\n" for line in lines)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _type_name(kind: type | tuple[type, ...]) -> str:
    return "number" if isinstance(kind, tuple) else "string"
