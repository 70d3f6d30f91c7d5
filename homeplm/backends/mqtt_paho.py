"""`MqttLink` over paho-mqtt 2.x: the only module that imports paho.

paho runs its own network thread (`loop_start`). Its callbacks only hand data to the asyncio loop with
`call_soon_threadsafe`; every callback is wrapped, because an exception escaping one kills that thread.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import re
import secrets
import socket
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from homeplm.config.schema import MqttSettings
from homeplm.core.errors import HomeplmError
from homeplm.mqtt.payloads import WarnLimiter, preview
from homeplm.mqtt.types import MessageHandler, MqttMessage

_LOGGER = logging.getLogger(__name__)

_F = TypeVar("_F", bound=Callable[..., None])

# Messages handed to the loop but not yet dispatched; beyond this they are dropped and counted.
_MAX_PENDING = 1000
# QoS 1 messages paho keeps while the broker is away (QoS 0 ones it would drop).
_MAX_QUEUED = 500
_STOP_TIMEOUT_S = 2.0
# MQTT 3.1.1 promises client ids of up to 23 characters; mosquitto takes longer ones too.
_CLIENT_ID_MAX = 23


def unique_client_id(base: str) -> str:
    """`<base>-<host>-<pid>-<random>`, shortened towards 23 characters by cutting the host name.

    The broker drops a client when another connects with the same id: `homeplm devices --mqtt`
    beside the daemon, or two daemons on one broker, would knock each other off for ever.
    """
    base = base or "homeplm"
    tail = f"{os.getpid()}-{secrets.token_hex(2)}"
    host = re.sub(r"[^0-9A-Za-z]", "", socket.gethostname().split(".")[0])
    room = _CLIENT_ID_MAX - len(base) - len(tail) - 2
    if host and room >= 4:
        return f"{base}-{host[:room]}-{tail}"
    return f"{base}-{tail}"


def _guarded(func: _F) -> _F:
    """Log instead of raising: an exception escaping a paho callback kills the network thread."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            func(*args, **kwargs)
        except Exception:
            _LOGGER.exception("MQTT callback %s failed", func.__name__)

    return wrapper  # type: ignore[return-value]


class PahoLink:
    """An MQTT connection that survives a broker that is down, restarts or drops us."""

    def __init__(
        self, settings: MqttSettings, loop: asyncio.AbstractEventLoop, *, availability_topic: str
    ) -> None:
        self._settings = settings
        self._loop = loop
        self._availability = availability_topic
        self._subscriptions: dict[str, list[MessageHandler]] = {}
        self._connect_callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._pending = 0
        self.dropped = 0  # messages dropped because the loop fell behind
        self._big_warnings = WarnLimiter(_LOGGER)  # network thread only
        self._handler_errors = WarnLimiter(_LOGGER, level=logging.ERROR)  # loop thread only
        self._started = False
        self.client_id = unique_client_id(settings.client_id)
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        settings = self._settings
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id)
        if settings.username:
            client.username_pw_set(settings.username, os.environ.get(settings.password_env) or None)
        if settings.tls:
            client.tls_set(ca_certs=settings.tls_ca)
        client.will_set(self._availability, "offline", qos=1, retain=True)
        client.reconnect_delay_set(1, 60)
        client.max_queued_messages_set(_MAX_QUEUED)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_message = self._handle_message
        client.on_connect_fail = self._handle_connect_fail
        return client

    # --- MqttLink -------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._client.is_connected()

    def publish(self, topic: str, payload: str | bytes, *, retain: bool = False, qos: int = 0) -> None:
        # paho drops QoS 0 messages while disconnected; QoS 1 ones wait in its queue.
        if not self.connected:
            qos = max(qos, 1)
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            _LOGGER.warning("MQTT publish to %s failed: %s", topic, mqtt.error_string(info.rc))

    def subscribe(self, pattern: str, handler: MessageHandler) -> None:
        with self._lock:
            handlers = self._subscriptions.setdefault(pattern, [])
            handlers.append(handler)
            first = len(handlers) == 1
        if first and self.connected:
            self._client.subscribe(pattern)

    def on_connect(self, callback: Callable[[], None]) -> None:
        self._connect_callbacks.append(callback)

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Begin connecting in the background; returns at once even when the broker is down."""
        if self._settings.host is None:
            raise HomeplmError("mqtt.host is not set", code="mqtt")
        if self._started:
            return
        self._started = True
        # connect_async + loop_start: the network thread retries the first connection too (paho
        # calls loop_forever(retry_first_connection=True) there), with the reconnect backoff.
        self._client.connect_async(self._settings.host, self._settings.port, self._settings.keepalive_s)
        self._client.loop_start()

    async def stop(self) -> None:
        """Say "offline" (retained), then disconnect cleanly; a clean disconnect sends no will."""
        if not self._started:
            return
        self._started = False
        if self.connected:
            info = self._client.publish(self._availability, "offline", qos=1, retain=True)
            try:
                await asyncio.to_thread(info.wait_for_publish, _STOP_TIMEOUT_S)
            except (RuntimeError, ValueError) as err:  # paho raises these when it could not queue it
                _LOGGER.warning("MQTT could not say offline: %s", err)
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)

    # --- paho callbacks (network thread) --------------------------------------------------------

    @_guarded
    def _handle_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if reason.is_failure:
            _LOGGER.warning("MQTT broker %s refused the connection: %s", self._settings.host, reason)
            return
        _LOGGER.info(
            "MQTT connected to %s:%s as %s", self._settings.host, self._settings.port, self.client_id
        )
        client.publish(self._availability, "online", qos=1, retain=True)
        with self._lock:
            patterns = list(self._subscriptions)
        if patterns:
            client.subscribe([(pattern, 0) for pattern in patterns])
        self._to_loop(self._run_connect_callbacks)

    @_guarded
    def _handle_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        if self._started:
            _LOGGER.warning("MQTT disconnected (%s); reconnecting", reason)

    @_guarded
    def _handle_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        _LOGGER.debug("MQTT connection to %s:%s failed; retrying", self._settings.host, self._settings.port)

    @_guarded
    def _handle_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        topic = message.topic
        if len(message.payload) > self._settings.max_payload_bytes:
            self._big_warnings.warn(
                topic,
                "MQTT payload on %s is %d bytes (limit %d): dropped",
                preview(topic),
                len(message.payload),
                self._settings.max_payload_bytes,
            )
            return
        with self._lock:
            if self._pending >= _MAX_PENDING:
                self.dropped += 1
                return
            self._pending += 1
        self._to_loop(self._dispatch, MqttMessage(topic, bytes(message.payload), bool(message.retain)))

    def _to_loop(self, func: Callable[..., None], *args: Any) -> None:
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(func, *args)

    # --- on the asyncio loop --------------------------------------------------------------------

    def _run_connect_callbacks(self) -> None:
        for callback in list(self._connect_callbacks):
            try:
                callback()
            except Exception:
                _LOGGER.exception("MQTT on_connect callback %r failed", callback)

    def _dispatch(self, message: MqttMessage) -> None:
        with self._lock:
            self._pending -= 1
            matching = [
                handler
                for pattern, handlers in self._subscriptions.items()
                if mqtt.topic_matches_sub(pattern, message.topic)
                for handler in handlers
            ]
        for handler in matching:
            try:
                handler(message)
            except Exception as err:
                # Handlers check what they receive; one that still fails on some payload says so in
                # one line (a traceback per hostile message would flood the log), once per topic.
                self._handler_errors.warn(
                    message.topic,
                    "MQTT handler for %s failed: %s: %s (payload %s)",
                    preview(message.topic),
                    type(err).__name__,
                    preview(err),
                    preview(message.payload),
                )
