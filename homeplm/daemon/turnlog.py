"""The daemon's side of `homeplm status`: the last turns (an event consumer) and the model paths."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from homeplm.core.errors import HomeplmError
from homeplm.core.events import EventType, PipelineEvent, Ready, ReplyEnd, RunEnd, RunStart, TurnError

if TYPE_CHECKING:
    from homeplm.config.schema import Settings

TURN_LOG_SIZE = 10
# Runs without a RUN_END (a crash in a consumer, say) are dropped after this many newer runs.
_MAX_PENDING = 32


class TurnLog:
    """An event consumer: a ring of the last turns (time, route, outcome, latency), never the text.

    Latency is SPEECH_END → first AUDIO_OUT for spoken turns that were answered aloud, else
    RUN_START → RUN_END. It also keeps READY's model load times and what the daemon is doing now.
    """

    def __init__(self, size: int = TURN_LOG_SIZE, clock: Callable[[], float] = time.time) -> None:
        self._turns: deque[dict[str, Any]] = deque(maxlen=size)
        self._pending: dict[int, dict[str, Any]] = {}
        self._clock = clock
        self.load_ms: dict[str, float] = {}
        self.ready_ms: float | None = None
        self.phase = "idle"

    def __call__(self, event: PipelineEvent) -> None:
        kind, data = event.type, event.data
        if isinstance(data, Ready):
            self.load_ms = {str(k): float(v) for k, v in data.load_ms.items()}
            self.ready_ms = data.ready_ms
            return
        if isinstance(data, RunStart):
            self._pending[event.run_id] = {"start_ms": event.timestamp_ms, "kind": data.start}
            while len(self._pending) > _MAX_PENDING:
                self._pending.pop(next(iter(self._pending)))
            self.phase = "recording" if data.start == "audio" else "thinking"
            return
        run = self._pending.get(event.run_id)
        if run is None:
            return
        if kind is EventType.SPEECH_END:
            run["speech_end_ms"] = event.timestamp_ms
            self.phase = "thinking"
        elif isinstance(data, ReplyEnd):
            run["route"] = data.route
        elif kind is EventType.AUDIO_OUT:
            run.setdefault("audio_out_ms", event.timestamp_ms)
            self.phase = "speaking"
        elif isinstance(data, TurnError):
            run["error"] = data.code
        elif isinstance(data, RunEnd):
            del self._pending[event.run_id]
            self._turns.append(self._record(event, data, run))
            if not self._pending:
                self.phase = "idle"

    def _record(self, end: PipelineEvent, data: RunEnd, run: dict[str, Any]) -> dict[str, Any]:
        if "speech_end_ms" in run and "audio_out_ms" in run:
            latency, basis = run["audio_out_ms"] - run["speech_end_ms"], "speech_end→audio_out"
        else:
            latency, basis = end.timestamp_ms - run["start_ms"], "run_start→run_end"
        record: dict[str, Any] = {
            "time": round(self._clock(), 3),
            "run_id": end.run_id,
            "start": run.get("kind"),
            "route": run.get("route"),
            "outcome": data.outcome,
            "latency_ms": round(latency, 1),
            "latency": basis,
        }
        if run.get("error"):
            record["error"] = run["error"]
        return record

    def turns(self) -> list[dict[str, Any]]:
        """The last turns, oldest first."""
        return list(self._turns)


def model_paths(settings: Settings) -> dict[str, str | None]:
    """role → the model file the daemon loads (None where it cannot be found)."""
    from homeplm.backends.factory import MODEL_RESOLVERS

    paths: dict[str, str | None] = {}
    for role, resolve in MODEL_RESOLVERS.items():
        try:
            paths[role] = str(resolve(settings))
        except HomeplmError:
            paths[role] = None
    return paths
