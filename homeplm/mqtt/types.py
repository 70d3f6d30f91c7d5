"""What the house and the Home Assistant bridge need of an MQTT connection.

The paho-mqtt implementation is `homeplm.backends.mqtt_paho.PahoLink`; tests of logic use fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class MqttMessage:
    """One MQTT message as handed to the asyncio loop."""

    topic: str
    payload: bytes
    retain: bool = False


MessageHandler = Callable[[MqttMessage], None]


class MqttLink(Protocol):
    """The broker connection as the rest of homeplm sees it (backends/mqtt_paho.py implements it)."""

    @property
    def connected(self) -> bool: ...

    def publish(self, topic: str, payload: str | bytes, *, retain: bool = False, qos: int = 0) -> None:
        """Queue a message; while disconnected, paho queues it until the link is back."""

    def subscribe(self, pattern: str, handler: MessageHandler) -> None:
        """Call `handler` on the asyncio loop for every message matching `pattern` (MQTT wildcards).
        Subscriptions are renewed after every reconnect. A handler that raises is logged, not fatal."""

    def on_connect(self, callback: Callable[[], None]) -> None:
        """Call `callback` on the loop after every (re)connection: re-publish state there."""
