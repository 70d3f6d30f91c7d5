"""The house: devices from MQTT discovery, Home Assistant's statestream, and voice control of both."""

from homeplm.house.actions import ActionRefused, DeviceActions
from homeplm.house.device_discovery import Device
from homeplm.house.device_intents import DeviceIntents
from homeplm.house.registry import DeviceRegistry
from homeplm.house.sentences import SentenceIntents, load_sentences

__all__ = [
    "ActionRefused", "Device", "DeviceActions", "DeviceIntents", "DeviceRegistry", "SentenceIntents",
    "load_sentences",
]  # fmt: skip
