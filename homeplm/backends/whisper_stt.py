"""Speech to text with faster-whisper (CTranslate2) on the CPU."""

from __future__ import annotations

import logging
import re
import threading

import numpy as np
from faster_whisper import WhisperModel

from homeplm.config.schema import AsrSettings
from homeplm.core.audio import SAMPLE_RATE, rms_dbfs, samples_to_ms, to_float32
from homeplm.core.errors import SttError
from homeplm.core.models import resolve, shipped_whisper_dir
from homeplm.core.stages import Transcript

_LOGGER = logging.getLogger(__name__)

MIN_SECONDS = 0.3
MIN_DBFS = -60.0

# What Whisper says over silence and noise (learnt from subtitled videos), compared normalised.
_HALLUCINATIONS = frozenset(
    {"thank you for watching", "thanks for watching", "you", "thank you", "bye", "music"}
)
_HALLUCINATION_PREFIXES = ("subtitles by", "subtitled by")
_ANNOTATION = re.compile(r"^\s*(?:[\[(][^\])]*[\])]\s*)+$")  # "[Music]", "(upbeat music)"


def normalise(text: str) -> str:
    """Lower case, punctuation removed, single spaces."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def is_hallucination(text: str) -> bool:
    if _ANNOTATION.match(text):
        return True
    words = normalise(text)
    return words in _HALLUCINATIONS or words.startswith(_HALLUCINATION_PREFIXES)


class WhisperStt:
    """Transcribes one endpointed utterance (16 kHz int16 or float32) per call."""

    def __init__(self, settings: AsrSettings) -> None:
        self._settings = settings
        path = resolve(settings.model, shipped_whisper_dir, key="asr.model")
        try:
            self._model = WhisperModel(
                str(path),
                device="cpu",
                compute_type=settings.compute_type,
                cpu_threads=settings.threads,
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as err:
            raise SttError(f"Cannot load the Whisper model {path}: {err}") from err
        self._language = settings.language if settings.language not in ("", "auto") else None
        self._lock = threading.Lock()
        _LOGGER.info("Whisper model loaded from %s (%s)", path, settings.compute_type)

    def transcribe(self, audio: np.ndarray, *, prompt: str | None = None) -> Transcript:
        duration_ms = samples_to_ms(len(audio))
        language = self._language or "en"
        pcm = audio if audio.dtype == np.int16 else np.clip(audio * 32768, -32768, 32767)
        # Whisper invents text for near-silence; the model is not worth asking.
        if len(audio) < MIN_SECONDS * SAMPLE_RATE or rms_dbfs(pcm) < MIN_DBFS:
            return Transcript("", language=language, duration_ms=duration_ms)
        samples = to_float32(audio) if audio.dtype == np.int16 else audio.astype(np.float32)
        with self._lock:
            try:
                texts, dropped, language = self._run(samples, prompt)
            except (RuntimeError, ValueError) as err:
                raise SttError(f"Whisper failed: {err}") from err
        text = " ".join(texts).strip()
        if text and is_hallucination(text):
            _LOGGER.debug("Dropped a probable hallucination: %r", text)
            text, dropped = "", dropped + len(texts)
        return Transcript(text, language=language, duration_ms=duration_ms, dropped_segments=dropped)

    def _run(self, samples: np.ndarray, prompt: str | None) -> tuple[list[str], int, str]:
        settings = self._settings
        segments, info = self._model.transcribe(
            samples,
            language=self._language,
            beam_size=settings.beam_size,
            condition_on_previous_text=False,
            vad_filter=False,  # our endpointer already cut the speech out
            without_timestamps=True,
            # One greedy pass: the temperature fallback re-decodes hard audio up to 5 times, which
            # costs seconds on a small box for no gain on short commands.
            temperature=0.0,
            initial_prompt=prompt or settings.initial_prompt,
        )
        texts: list[str] = []
        dropped = 0
        for segment in segments:  # a lazy generator: decoding happens here, in this thread
            if (
                segment.no_speech_prob > settings.no_speech_threshold
                or segment.avg_logprob < settings.log_prob_threshold
            ):
                _LOGGER.debug(
                    "Dropped segment (no_speech %.2f, logprob %.2f)",
                    segment.no_speech_prob,
                    segment.avg_logprob,
                )
                dropped += 1
            elif segment.text.strip():
                texts.append(segment.text.strip())
        return texts, dropped, info.language
