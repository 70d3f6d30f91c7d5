"""The route record of a turn, for `homeplm ask --explain`: route, reason, memories, what was sent,
and timings taken from the event stream."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from homeplm.core.events import EventType, PipelineEvent
from homeplm.voice.pipeline import TurnResult

_MARKS = {
    EventType.REPLY_DELTA: "first_token_ms",
    EventType.REPLY_END: "reply_ms",
    EventType.AUDIO_OUT: "first_audio_ms",
    EventType.RUN_END: "total_ms",
}


class TurnTimer:
    """An event consumer: for each run, when its first token, reply end, audio and end came."""

    def __init__(self) -> None:
        self._starts: dict[int, float] = {}
        self._marks: dict[int, dict[str, float]] = defaultdict(dict)

    def __call__(self, event: PipelineEvent) -> None:
        if event.type is EventType.RUN_START:
            self._starts[event.run_id] = event.timestamp_ms
        elif (name := _MARKS.get(event.type)) and event.run_id in self._starts:
            marks = self._marks[event.run_id]
            marks.setdefault(name, round(event.timestamp_ms - self._starts[event.run_id], 1))

    def timings(self, run_id: int) -> dict[str, float]:
        self._starts.pop(run_id, None)
        return self._marks.pop(run_id, {})


def explain(result: TurnResult, timer: TurnTimer) -> dict[str, Any]:
    """The route record of one turn (it came back with the turn), with its timings."""
    record: dict[str, Any] = {"question": result.transcript, "reply": result.reply, "outcome": result.outcome}
    if route := result.record.get("route"):
        details = result.record.get("details") or {}
        record |= {"route": route, "reason": result.record.get("reason"), **details}
    record["timings"] = timer.timings(result.run_id)
    if result.error is not None:
        record["error"] = {"code": result.error.code, "message": result.error.message}
    return record


def render(record: dict[str, Any]) -> str:
    lines = [f"route:    {record.get('route', '?')} ({record.get('reason', '')})"]
    memories = record.get("memories") or []
    lines.append(
        f"memories: {len(memories)} used"
        + (f", retrieval {record['retrieval_ms']} ms" if "retrieval_ms" in record else "")
    )
    lines += [f"  - [{m['similarity']:.2f}] {m['text']}" for m in memories]
    if sent := record.get("sent"):
        lines.append(f"sent to:  {sent['url']} (model {sent['model']})")
        lines += [f"  | {line}" for line in str(sent["content"]).splitlines()]
    if fallback := record.get("fallback"):
        lines.append(f"fallback: {fallback}")
    timings = record.get("timings") or {}
    lines.append(
        "timings:  "
        + ", ".join(f"{k.removesuffix('_ms').replace('_', ' ')} {v:.0f} ms" for k, v in timings.items())
    )
    return "\n".join(lines)
