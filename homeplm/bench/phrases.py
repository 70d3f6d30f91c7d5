"""Spoken test and benchmark audio made with the shipped voice: real speech, no recordings to ship."""

from __future__ import annotations

import numpy as np

from homeplm.core.audio import SAMPLE_RATE, resample
from homeplm.core.stages import TextToSpeech

# Household commands and questions, as a family would say them (benchmark and ASR accuracy test).
HOUSEHOLD_COMMANDS = (
    "What time is it?",
    "Turn on the kitchen light.",
    "Turn off the lights in the living room.",
    "What is the weather like today?",
    "Set a timer for ten minutes.",
    "What is the capital of France?",
    "Play some music in the bedroom.",
    "Dim the dining room lights to fifty percent.",
    "Is the front door locked?",
    "Remind me to call grandma tomorrow.",
    "How many days until Christmas?",
    "Turn the heating up to twenty one degrees.",
    "Open the garage door.",
    "What is on my calendar this afternoon?",
    "Add milk and eggs to the shopping list.",
    "Close the blinds in the office.",
    "How do you make pancakes?",
    "Tell me a joke.",
    "Switch off the television.",
    "Good night.",
    "What is two plus two?",
    "Turn on the fan in the nursery.",
)


# Said to the fast intents (no LLM): the time, the date, memory commands, repeat.
INTENT_COMMANDS = (
    "What time is it?",
    "What's the date today?",
    "Remember that the bins go out on Monday.",
    "Say that again.",
    "What do you know about the bins?",
    "What's the time?",
    "Which day is it today?",
    "Remember that the plumber is called Marco.",
    "Repeat that.",
    "Tell me the time.",
)


def speak(tts: TextToSpeech, text: str, lead_s: float = 0.5, tail_s: float = 1.5) -> np.ndarray:
    """The text spoken by `tts`, as 16 kHz int16, with silence before and after."""
    voice = resample(tts.synthesize(text), tts.sample_rate, SAMPLE_RATE)
    lead = np.zeros(int(lead_s * SAMPLE_RATE), dtype=np.int16)
    tail = np.zeros(int(tail_s * SAMPLE_RATE), dtype=np.int16)
    return np.concatenate((lead, voice, tail))


def noise(seconds: float, dbfs: float = -30.0, seed: int = 7) -> np.ndarray:
    """White noise at a given level (a fan, a busy room), 16 kHz int16."""
    rng = np.random.default_rng(seed)
    amplitude = 32768 * 10 ** (dbfs / 20)
    return np.clip(rng.normal(0, amplitude, int(seconds * SAMPLE_RATE)), -32768, 32767).astype(np.int16)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.int16)
