"""Wake words with openWakeWord (rhasspy's pyopen-wakeword: TFLite through its own C library)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pyopen_wakeword import OpenWakeWord, OpenWakeWordFeatures

from homeplm.config.schema import WakeSettings
from homeplm.core.audio import CHUNK_SAMPLES
from homeplm.core.errors import ModelMissingError, WakeError
from homeplm.core.models import WAKE_FEATURE_FILES, resolve, shipped_wake_dir, shipped_wake_model
from homeplm.core.stages import WakeDetection

_LOGGER = logging.getLogger(__name__)

# The C library does not check that a file is a TFLite model; a wrong file would crash the process.
_TFLITE_MAGIC = b"TFL3"


def _check_tflite(path: Path) -> None:
    with path.open("rb") as file:
        header = file.read(8)
    if header[4:8] != _TFLITE_MAGIC:
        raise WakeError(f"{path} is not a TFLite model", code="wake_model_invalid")


def _model_path(spec: str) -> Path:
    """A shipped wake word name, or the path of a .tflite file."""
    if spec.endswith(".tflite") or "/" in spec:
        return resolve(spec, shipped_wake_dir, key="wake.models")
    return shipped_wake_model(spec)


def _features_dir(configured: str | None) -> Path:
    directory = resolve(configured, shipped_wake_dir, key="wake.feature_models_dir")
    for name in WAKE_FEATURE_FILES:
        if not (directory / name).is_file():
            raise ModelMissingError(f"{directory / name} (openWakeWord feature model) is missing")
        _check_tflite(directory / name)
    return directory


class OpenWakeWordDetector:
    """Several wake words at once on shared features; `process` reports the best one ≥ threshold."""

    def __init__(self, settings: WakeSettings) -> None:
        if not settings.models:
            raise WakeError("wake.models is empty: name at least one wake word")
        self.threshold = settings.threshold
        paths = {path.stem: path for path in map(_model_path, settings.models)}
        for path in paths.values():
            _check_tflite(path)
        features_dir = _features_dir(settings.feature_models_dir)
        try:
            self._features = OpenWakeWordFeatures.from_builtin(models_dir=features_dir)
            self._models = {name: OpenWakeWord.from_model(path) for name, path in paths.items()}
        except (OSError, RuntimeError, ValueError) as err:
            raise WakeError(f"Cannot load openWakeWord models: {err}") from err
        self.names: Sequence[str] = tuple(self._models)
        self.last_scores: dict[str, float] = dict.fromkeys(self.names, 0.0)
        self.last_score = 0.0  # the best of the last chunk's scores, fired or not
        self._lock = threading.Lock()
        self._warm_up()
        _LOGGER.info("Wake words %s loaded (threshold %.2f)", ", ".join(self.names), self.threshold)

    def _warm_up(self) -> None:
        # The feature extractor starts with 8 s of zeros to compute ("autofill"): pay for it now,
        # not on the first live chunk. The embeddings fill the wake models' windows too.
        self.process(np.zeros(CHUNK_SAMPLES, dtype=np.int16))
        self.last_scores = dict.fromkeys(self.names, 0.0)
        self.last_score = 0.0

    def process(self, chunk: np.ndarray) -> WakeDetection | None:
        """Feed one 80 ms chunk of 16 kHz int16 audio."""
        pcm = np.ascontiguousarray(chunk, dtype="<i2").tobytes()
        scores = dict.fromkeys(self.names, 0.0)
        with self._lock:
            try:
                for embedding in self._features.process_streaming(pcm):
                    for name, model in self._models.items():
                        for prob in model.process_streaming(embedding):
                            scores[name] = max(scores[name], float(prob))
            except (OSError, RuntimeError, ValueError) as err:
                raise WakeError(f"openWakeWord failed: {err}") from err
        self.last_scores = scores
        name, score = max(scores.items(), key=lambda item: item[1])
        self.last_score = score
        return WakeDetection(name, score) if score >= self.threshold else None

    def reset(self) -> None:
        """Forget the wake models' recent embeddings (their tail re-triggers right after a hit).

        The models then stay silent until their window refills (~1.3 s for the shipped ones). The
        feature buffers are kept: resetting them would re-run the 8 s autofill on the next chunk.
        """
        with self._lock:
            for model in self._models.values():
                model.reset()
        self.last_scores = dict.fromkeys(self.names, 0.0)
        self.last_score = 0.0

    def close(self) -> None:
        with self._lock:
            for model in self._models.values():
                model.close()
            self._features.close()
