"""Speech to text with faster-whisper (CTranslate2) on the CPU."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Sequence
from typing import Any

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
N_FRAMES = 3000  # Whisper's 30 s window, in feature frames

# What Whisper says over silence and noise (learnt from subtitled videos), compared normalised.
_HALLUCINATIONS = frozenset(
    {"thank you for watching", "thanks for watching", "you", "thank you", "bye", "music"}
)
_HALLUCINATION_PREFIXES = ("subtitles by", "subtitled by")
_ANNOTATION = re.compile(r"^\s*(?:[\[(][^\])]*[\])]\s*)+$")  # "[Music]", "(upbeat music)"


def _key(samples: np.ndarray) -> bytes:
    """Identifies an utterance's audio (its length and a digest of its samples)."""
    return len(samples).to_bytes(8, "little") + hashlib.blake2b(samples.tobytes(), digest_size=16).digest()


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
        # The encoder's output for the last audio transcribed, kept for `score` (which would
        # otherwise encode the same 30 s window again: ~0.45 s for tiny.en on 2 cores).
        self._encoded: tuple[bytes, Any] | None = None
        self._encoding_of: bytes | None = None  # the audio whose encoding is to be kept
        self._tokenizer: Any = None
        self._model.encode = self._encode_kept
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
            self._encoding_of = _key(samples)
            try:
                texts, dropped, language = self._run(samples, prompt)
            except (RuntimeError, ValueError) as err:
                raise SttError(f"Whisper failed: {err}") from err
        text = " ".join(texts).strip()
        if text and is_hallucination(text):
            _LOGGER.debug("Dropped a probable hallucination: %r", text)
            text, dropped = "", dropped + len(texts)
        return Transcript(text, language=language, duration_ms=duration_ms, dropped_segments=dropped)

    def score(self, audio: np.ndarray, texts: Sequence[str]) -> list[float]:
        """How well the audio supports each text as its transcript: the sum of the log-probabilities
        of the text's tokens, Whisper forced to read it (no prompt, so no bias). Compare texts
        written alike (case, digits): Whisper's probabilities differ for "Kitchen" and "kitchen"."""
        if not texts:
            return []
        samples = to_float32(audio) if audio.dtype == np.int16 else audio.astype(np.float32)
        with self._lock:
            try:
                return self._score(samples, texts)
            except (RuntimeError, ValueError) as err:
                raise SttError(f"Whisper failed to score: {err}") from err

    def _score(self, samples: np.ndarray, texts: Sequence[str]) -> list[float]:
        import ctranslate2
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer

        model = self._model
        frames = min(len(samples) // model.feature_extractor.hop_length, N_FRAMES)
        key = _key(samples)
        if self._encoded is None or self._encoded[0] != key:  # not the audio just transcribed
            self._encoding_of = key
            model.encode(pad_or_trim(model.feature_extractor(samples)))
        assert self._encoded is not None
        if self._tokenizer is None:
            multilingual = model.model.is_multilingual
            self._tokenizer = Tokenizer(model.hf_tokenizer, multilingual, task="transcribe", language="en")
        tok = self._tokenizer
        start = [*tok.sot_sequence, tok.no_timestamps]
        tokens = [[*tok.encode(" " + text.strip()), tok.eot] for text in texts]
        encoded = np.ascontiguousarray(np.repeat(np.asarray(self._encoded[1]), len(texts), axis=0))
        batch = ctranslate2.StorageView.from_array(encoded)
        results = model.model.align(batch, start, tokens, [frames] * len(texts))
        return [float(np.log(np.maximum(np.asarray(r.text_token_probs), 1e-9)).sum()) for r in results]

    def _encode_kept(self, features: np.ndarray) -> Any:
        """faster-whisper's encode, its output kept for `score` (one window: commands are short)."""
        output = type(self._model).encode(self._model, features)
        key = self._encoding_of
        if key is not None:
            self._encoded = (key, output)
            self._encoding_of = None  # only the first window of an utterance
        return output

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
