"""Streaming Silero VAD (v6 ONNX, as shipped inside faster-whisper) on 80 ms chunks."""

from __future__ import annotations

import logging
import threading

import numpy as np

from homeplm.backends.onnx_private import onnxruntime
from homeplm.config.schema import VadSettings
from homeplm.core.audio import to_float32
from homeplm.core.errors import VadError
from homeplm.core.models import resolve, shipped_vad_path

_LOGGER = logging.getLogger(__name__)

WINDOW = 512  # samples per model step at 16 kHz (32 ms)
CONTEXT = 64  # the model also sees the last 64 samples of the previous window
_STATE_SHAPE = (1, 1, 128)


class SileroVad:
    """Speech probability per chunk; LSTM state, context and the partial window carry over."""

    def __init__(self, settings: VadSettings) -> None:
        path = resolve(settings.model, shipped_vad_path, key="vad.model")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = onnxruntime.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as err:  # onnxruntime's errors derive from Exception only
            raise VadError(f"Cannot load the VAD model {path}: {err}") from err
        self._lock = threading.Lock()
        self.reset()
        _LOGGER.debug("Silero VAD loaded from %s", path)

    def reset(self) -> None:
        self._h = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._c = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self._last = 0.0

    def speech_probability(self, chunk: np.ndarray) -> float:
        """Max probability over the windows completed by this chunk (else the last one seen)."""
        with self._lock:
            audio = np.concatenate((self._pending, to_float32(chunk)))
            count = len(audio) // WINDOW
            if count == 0:
                self._pending = audio
                return self._last
            windows = audio[: count * WINDOW].reshape(count, WINDOW)
            self._pending = audio[count * WINDOW :]
            # Each row: 64 samples of the previous window, then its own 512 — the batch is run
            # as a sequence through the LSTM, as faster_whisper.vad.SileroVADModel does.
            contexts = np.vstack((self._context[None, :], windows[:-1, -CONTEXT:]))
            batch = np.ascontiguousarray(np.concatenate((contexts, windows), axis=1))
            try:
                probs, self._h, self._c = self._session.run(
                    None, {"input": batch, "h": self._h, "c": self._c}
                )
            except Exception as err:
                raise VadError(f"Silero VAD failed: {err}") from err
            self._context = windows[-1, -CONTEXT:].copy()
            flat = np.asarray(probs, dtype=np.float32).reshape(-1)
            self._last = float(flat[-1])
            return float(flat.max())
