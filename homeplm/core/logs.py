"""Logging set-up and the event → log consumer (personal text only at DEBUG)."""

from __future__ import annotations

import logging
import sys

from homeplm.core.events import PERSONAL_EVENTS, EventType, PipelineEvent, TurnError

_LOGGER = logging.getLogger("homeplm.core.events")

# Per-chunk or per-token events would flood the log at INFO.
_QUIET = frozenset({EventType.REPLY_DELTA})


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # faster-whisper logs every transcription at INFO ("Processing audio with duration …").
    logging.getLogger("faster_whisper").setLevel(max(logging.WARNING, root.level))


def log_event(event: PipelineEvent) -> None:
    """Log an event: what was said or answered is personal data and goes to DEBUG only."""
    if event.type in _QUIET:
        return
    if event.type in PERSONAL_EVENTS:
        fields = event.data.fields()
        # A route's reason may quote what was said ("everyday matched 'what is 12 times 12'").
        details = {k: v for k, v in fields.items() if k not in ("text", "heard", "reason")}
        _LOGGER.info("run %d %s %s", event.run_id, event.type.value, details)
        reason = f" reason={fields['reason']!r}" if fields.get("reason") else ""
        _LOGGER.debug("run %d %s text=%r%s", event.run_id, event.type.value, fields.get("text"), reason)
    elif isinstance(event.data, TurnError):
        _LOGGER.error("run %d error %s: %s", event.run_id, event.data.code, event.data.message)
    else:
        _LOGGER.info("run %d %s %s", event.run_id, event.type.value, event.data.fields())
