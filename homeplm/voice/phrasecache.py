"""A phrase cache of rendered speech: short fixed replies ("Okay, I'll remember that.") are
synthesised once and then played at once."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable

import numpy as np

from homeplm.core.stages import TextToSpeech

_LOGGER = logging.getLogger(__name__)

MAX_CACHED_CHARS = 60  # longer sentences are rarely said twice word for word


class PhraseCache:
    """Wraps a TextToSpeech; short sentences are kept (least recently used out)."""

    def __init__(self, tts: TextToSpeech, size: int = 128) -> None:
        self.tts = tts
        self.sample_rate = tts.sample_rate
        self.size = size
        self.hits = 0
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def synthesize(self, text: str) -> np.ndarray:
        key = " ".join(text.split())
        with self._lock:
            if (audio := self._cache.get(key)) is not None:
                self._cache.move_to_end(key)
                self.hits += 1
                return audio
        audio = self.tts.synthesize(text)
        if len(key) <= MAX_CACHED_CHARS:
            with self._lock:
                self._cache[key] = audio
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
        return audio

    def warm(self, phrases: Iterable[str]) -> None:
        """Render the fixed replies now (call in a worker thread after start-up)."""
        for phrase in phrases:
            self.synthesize(phrase)
        _LOGGER.debug("phrase cache warmed with %d phrases", len(self._cache))
