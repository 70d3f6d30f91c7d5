"""homeplm in Home Assistant: discovery, state from the event stream, commands to the assistant.

Everything here runs on the asyncio loop: the link calls handlers there, and `on_event` is an
event-stream consumer. A bad command payload is logged once and ignored; it never raises.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Protocol

from homeplm.config.schema import MqttSettings
from homeplm.core.events import EventType, PipelineEvent, ReplyEnd, Transcript
from homeplm.mqtt import ha_entities as disco
from homeplm.mqtt.payloads import WarnLimiter, clean_text, preview
from homeplm.mqtt.types import MqttLink, MqttMessage

_LOGGER = logging.getLogger(__name__)

# Longest announce/ask text accepted from Home Assistant (characters).
MAX_TEXT = 500
MAX_JITTER_S = 5.0
# Announcements, questions and "forget last" running or waiting at once; more are dropped (a flood
# of them would queue speech and language-model work without end).
MAX_BUSY = 8

STATE_OF_EVENT = {
    EventType.WAKE: "listening",
    EventType.SPEECH_START: "listening",
    EventType.SPEECH_END: "thinking",
    EventType.TRANSCRIPT: "thinking",
    EventType.REPLY_START: "thinking",
    EventType.TTS_START: "speaking",
    EventType.AUDIO_OUT: "speaking",
    EventType.FOLLOW_UP: "listening (follow-up)",
    EventType.ERROR: "error",
}


class AssistantControl(Protocol):
    """What Home Assistant may change or ask of the running assistant (the daemon implements it)."""

    def snapshot(self) -> Mapping[str, Any]: ...  # muted, private, wake_word, sensitivity, volume

    def set_muted(self, muted: bool) -> None: ...
    def set_private(self, private: bool) -> None: ...
    async def set_wake_word(self, name: str) -> None: ...  # returns once this request is settled
    def set_sensitivity(self, threshold: float) -> None: ...
    def set_volume(self, volume: float) -> None: ...
    async def announce(self, text: str) -> None: ...
    async def ask(self, text: str) -> str: ...
    async def forget_last(self) -> bool: ...


class BadCommand(ValueError):
    """A command payload Home Assistant should never have sent."""


def parse_switch(payload: str) -> bool:
    if payload not in ("ON", "OFF"):
        raise BadCommand("expected ON or OFF")
    return payload == "ON"


def _number(lo: float, hi: float) -> Callable[[str], float]:
    def parse(payload: str) -> float:
        try:
            value = float(payload)
        except ValueError:
            raise BadCommand("not a number") from None
        if not math.isfinite(value) or not lo - 1e-9 <= value <= hi + 1e-9:
            raise BadCommand(f"outside {lo}..{hi}")
        return min(max(value, lo), hi)

    return parse


def _option(payload: str) -> str:
    if payload not in disco.WAKE_WORDS:
        raise BadCommand("unknown option")
    return payload


def _text(payload: str) -> str:
    """Text to speak or answer: no control characters (a NUL would reach the synthesiser)."""
    text = clean_text(payload[: MAX_TEXT * 4]).strip()
    if not text:
        raise BadCommand("empty text")
    return text[:MAX_TEXT]


def _press(payload: str) -> None:
    if payload != "PRESS":
        raise BadCommand("expected PRESS")


class HomeAssistantBridge:
    """Publishes homeplm's entities and state to Home Assistant and carries out its commands."""

    def __init__(
        self,
        link: MqttLink,
        settings: MqttSettings,
        control: AssistantControl,
        *,
        jitter: Callable[[], float] = lambda: random.uniform(0.0, MAX_JITTER_S),
    ) -> None:
        self._link = link
        self._settings = settings
        self._control = control
        self._jitter = jitter
        self._state = "idle"
        self._speech_end_ms: dict[int, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._busy: set[asyncio.Task[None]] = set()  # the MAX_BUSY-limited ones among them
        self._rediscover: asyncio.TimerHandle | None = None
        self._warnings = WarnLimiter(_LOGGER)

    def start(self) -> None:
        """Subscribe to commands and HA's birth message; publish everything on every (re)connect."""
        s = self._settings
        c = self._control
        if isinstance(listeners := getattr(c, "listeners", None), list):
            listeners.append(self._publish_controls)  # a change from the CLI or a reload shows in HA
        self._command("mute", parse_switch, c.set_muted)
        self._command("private", parse_switch, c.set_private)
        self._command("wake_word", _option, lambda name: self._spawn(self._set_wake_word(name)))
        self._command("sensitivity", _number(*disco.SENSITIVITY_RANGE[:2]), c.set_sensitivity)
        self._command(
            "volume", _number(*disco.VOLUME_RANGE[:2]), lambda p: c.set_volume(disco.percent_to_volume(p))
        )
        self._command("announce", _text, lambda text: self._spawn(c.announce(text), busy=True))
        self._command("ask", _text, lambda text: self._spawn(self._ask(text), busy=True))
        self._command("forget_last", _press, lambda _: self._spawn(self._forget(), busy=True))
        self._link.subscribe(f"{s.discovery_prefix}/status", self._on_ha_status)
        self._link.on_connect(self.publish_all)
        if self._link.connected:
            self.publish_all()

    async def stop(self) -> None:
        if self._rediscover is not None:
            self._rediscover.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def publish_all(self) -> None:
        """Discovery, then every state (retained): after each connect and on request."""
        self.publish_discovery()
        self._publish_controls()
        self._publish("state", self._state)

    def publish_discovery(self) -> None:
        for topic, payload in disco.discovery_messages(self._settings):
            self._link.publish(topic, json.dumps(payload), retain=True)
        for topic in disco.removed_discovery_topics(self._settings):
            self._link.publish(topic, "", retain=True)

    def _publish_controls(self) -> None:
        snap = self._control.snapshot()
        self._publish("mute", "ON" if snap.get("muted") else "OFF")
        self._publish("private", "ON" if snap.get("private") else "OFF")
        if "wake_word" in snap:
            self._publish("wake_word", str(snap["wake_word"]))
        if "sensitivity" in snap:
            self._publish("sensitivity", f"{float(snap['sensitivity']):g}")
        if "volume" in snap:
            self._publish("volume", str(disco.volume_to_percent(float(snap["volume"]))))

    def _publish(self, key: str, payload: str, *, retain: bool = True) -> None:
        self._link.publish(disco.state_topic(self._settings, key), payload, retain=retain)

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self._publish("state", state)

    def on_event(self, event: PipelineEvent) -> None:
        """Event-stream consumer: assist state, last transcript/reply/latency, intent events."""
        try:
            self._handle_event(event)
        except Exception:
            _LOGGER.exception("Home Assistant bridge failed on event %s", event.type)

    def _handle_event(self, event: PipelineEvent) -> None:
        kind, data = event.type, event.data
        if kind in STATE_OF_EVENT:
            self._set_state(STATE_OF_EVENT[kind])
        elif kind is EventType.RUN_END:
            self._set_state("muted" if self._control.snapshot().get("muted") else "idle")
            self._speech_end_ms.pop(event.run_id, None)
        if kind is EventType.SPEECH_END:
            self._speech_end_ms[event.run_id] = event.timestamp_ms
        elif kind is EventType.AUDIO_OUT and event.run_id in self._speech_end_ms:
            latency_ms = event.timestamp_ms - self._speech_end_ms.pop(event.run_id)
            self._publish("last_latency", f"{latency_ms:.0f}")
        elif isinstance(data, Transcript) and self._settings.publish_transcript:
            self._publish("last_transcript", data.text[: disco.TEXT_MAX])
        elif isinstance(data, ReplyEnd):
            self._on_reply_end(data)

    def _on_reply_end(self, data: ReplyEnd) -> None:
        if self._settings.publish_reply:
            self._publish("last_reply", data.text[: disco.TEXT_MAX])
        route = data.route
        if route is not None and route.startswith("intent:"):
            intent = route.removeprefix("intent:")
            event = {"event_type": disco.INTENT_EVENT, "intent": intent, "route": route}
            self._publish("intent", json.dumps(event), retain=False)

    def _command(self, key: str, parse: Callable[[str], Any], act: Callable[[Any], None]) -> None:
        def handle(message: MqttMessage) -> None:
            try:
                value = parse(message.payload.decode("utf-8"))
            except ValueError as err:  # BadCommand, UnicodeDecodeError
                reason = "not UTF-8" if isinstance(err, UnicodeDecodeError) else preview(err)
                self._warnings.warn(
                    key, "ignored a bad %s command (%s): %s", key, reason, preview(message.payload)
                )
                return
            try:
                act(value)
            except Exception:
                _LOGGER.exception("Home Assistant command %s failed", key)
                return
            if key in ("mute", "private", "wake_word", "sensitivity", "volume"):
                self._publish_controls()
            if key == "mute" and self._state in ("idle", "muted"):
                self._set_state("muted" if value else "idle")

        self._link.subscribe(disco.command_topic(self._settings, key), handle)

    def _spawn(self, work: Coroutine[Any, Any, Any], *, busy: bool = False) -> None:
        if busy and len(self._busy) >= MAX_BUSY:
            work.close()
            self._warnings.warn("#busy", "more than %d Home Assistant requests at once: dropped", MAX_BUSY)
            return

        async def run() -> None:
            try:
                await work
            except Exception:  # cancellation passes through
                _LOGGER.exception("Home Assistant command failed")

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if busy:
            self._busy.add(task)
            task.add_done_callback(self._busy.discard)

    async def _set_wake_word(self, name: str) -> None:
        """Once the model is swapped (or this request superseded), say which one is active."""
        await self._control.set_wake_word(name)
        self._publish_controls()

    async def _ask(self, text: str) -> None:
        reply = await self._control.ask(text)
        self._publish("ask", reply[: disco.TEXT_MAX])

    async def _forget(self) -> None:
        forgotten = await self._control.forget_last()
        _LOGGER.info("Home Assistant asked to forget the last exchange: %s", forgotten)

    def _on_ha_status(self, message: MqttMessage) -> None:
        self._rediscover = rediscover_later(message, self._rediscover, self._jitter, self.publish_discovery)


def rediscover_later(
    message: MqttMessage,
    pending: asyncio.TimerHandle | None,
    jitter: Callable[[], float],
    publish: Callable[[], object],
) -> asyncio.TimerHandle | None:
    """Home Assistant's status said "online" (it restarted): discovery again, after `jitter()` s —
    every device re-sending at once floods the broker. The handle of what is scheduled (`pending`,
    replaced, or kept for any other payload)."""
    if message.payload.strip().lower() != b"online":
        return pending
    if pending is not None:
        pending.cancel()
    return asyncio.get_running_loop().call_later(max(0.0, jitter()), publish)
