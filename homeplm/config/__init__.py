"""Configuration: the settings tree (`schema`) and its YAML loader (`loader`)."""

from homeplm.config.loader import load_settings, load_settings_text, settings_to_dict
from homeplm.config.schema import (
    AsrSettings,
    AssistantSettings,
    InputSettings,
    LlmSettings,
    LoggingSettings,
    OutputSettings,
    Settings,
    TtsSettings,
    VadSettings,
    WakeSettings,
)

__all__ = [
    "AsrSettings",
    "AssistantSettings",
    "InputSettings",
    "LlmSettings",
    "LoggingSettings",
    "OutputSettings",
    "Settings",
    "TtsSettings",
    "VadSettings",
    "WakeSettings",
    "load_settings",
    "load_settings_text",
    "settings_to_dict",
]
