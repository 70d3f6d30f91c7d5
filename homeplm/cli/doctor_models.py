"""The shape of a doctor check, and the checks of the model files (present, sizes, sha256 against the
packages' own records, cached so a second run does not read 330 MB again)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from homeplm.config.schema import Settings
from homeplm.core.errors import HomeplmError

OK, WARN, FAIL = "ok", "warn", "fail"
CONNECT_TIMEOUT_S = 2.0
MIN_FREE_BYTES = 1 << 30
CHECKSUM_CACHE = "model-checksums.json"

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Check:
    """One `homeplm doctor` finding: ok / warn / fail, what was seen, and the fix."""

    name: str
    status: str  # ok | warn | fail
    detail: str
    hint: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _quiet(_message: str) -> None:
    return None


# -- models -----------------------------------------------------------------------------------------


def _files(path: Path) -> list[Path]:
    return [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in _files(path))


def _human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def _recorded_hashes() -> dict[str, str]:
    """Absolute file path → sha256 (hex) from the installed wheels' RECORD, for the model packages."""
    from importlib import metadata

    from homeplm.core import models

    hashes: dict[str, str] = {}
    for shipped in (models.WHISPER, models.LLM, models.VOICE, models.EMBEDDINGS, models.VAD, models.WAKE):
        try:
            files = metadata.distribution(shipped.package).files or []
        except metadata.PackageNotFoundError:
            continue
        for file in files:
            if file.hash is not None and file.hash.mode == "sha256":
                raw = base64.urlsafe_b64decode(file.hash.value + "=" * (-len(file.hash.value) % 4))
                hashes[str(Path(str(file.locate())).resolve())] = raw.hex()
    return hashes


class _ChecksumCache:
    """sha256 of files, remembered by (path, size, mtime) in the state dir: a second doctor is quick."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, Any] = {}
        if path is not None:
            try:
                self.entries = json.loads(path.read_text())
            except (OSError, ValueError):
                self.entries = {}
        self.dirty = False

    def sha256(self, file: Path, progress: Progress) -> str:
        stat = file.stat()
        key = str(file.resolve())
        cached = self.entries.get(key)
        if cached and cached.get("size") == stat.st_size and cached.get("mtime_ns") == stat.st_mtime_ns:
            return str(cached["sha256"])
        digest = hashlib.sha256()
        done = 0
        with file.open("rb") as handle:
            while block := handle.read(1 << 22):
                digest.update(block)
                done += len(block)
                if stat.st_size > 50_000_000:
                    progress(f"  {done * 100 // stat.st_size:3d}% {file.name}")
        self.entries[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest.hexdigest()}
        self.dirty = True
        return digest.hexdigest()

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        try:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.entries, indent=1))
            tmp.replace(self.path)
        except OSError:
            pass  # a read-only state dir only costs the next doctor the hashing


def _model_targets(settings: Settings) -> list[tuple[str, Callable[[Settings], object]]]:
    from homeplm.backends.factory import MODEL_RESOLVERS
    from homeplm.core import models

    targets = list(MODEL_RESOLVERS.items())
    if settings.memory.enabled:

        def embeddings(s: Settings) -> object:
            return models.resolve(s.memory.embeddings, models.shipped_embeddings_dir, key="memory.embeddings")

        targets.append(("embeddings", embeddings))
    return targets


def check_models(
    settings: Settings, checksums: bool = True, progress: Progress = _quiet, cache_dir: Path | None = None
) -> list[Check]:
    """Every model file the daemon loads: present, its size, and (unless skipped) its sha256, checked
    against the installed package's RECORD where it came from a wheel."""
    recorded = _recorded_hashes() if checksums else {}
    cache = _ChecksumCache(cache_dir / CHECKSUM_CACHE if cache_dir is not None else None)
    checks = []
    for role, resolve in _model_targets(settings):
        try:
            located = str(resolve(settings))
        except HomeplmError as err:
            checks.append(Check(f"model {role}", FAIL, err.message, _model_hint(err.message)))
            continue
        paths = [Path(p) for p in located.split(", ")] if role == "wake" else [Path(located)]
        checks.append(_check_model_files(role, paths, checksums, recorded, cache, progress))
    cache.save()
    return checks


def _model_hint(message: str) -> str:
    if "install it with:" in message or "reinstall it with:" in message:
        return "run the pip command above in the homeplm virtual environment"
    return "fix the path in the configuration, or set it to null for the shipped model"


def _check_model_files(
    role: str,
    paths: list[Path],
    checksums: bool,
    recorded: dict[str, str],
    cache: _ChecksumCache,
    progress: Progress,
) -> Check:
    size = sum(_size(p) for p in paths)
    where = ", ".join(map(str, paths))
    if size == 0:
        return Check(f"model {role}", FAIL, f"{where}: empty", "reinstall the model package")
    if not checksums:
        return Check(f"model {role}", OK, f"{where} ({_human(size)})")
    progress(f"hashing {role} ({_human(size)})…")
    combined = hashlib.sha256()
    bad: list[str] = []
    verified = 0
    for path in paths:
        for file in _files(path):
            digest = cache.sha256(file, progress)
            combined.update(f"{file.relative_to(path.parent)}\0{digest}\n".encode())
            expected = recorded.get(str(file.resolve()))
            if expected is not None:
                verified += 1
                if expected != digest:
                    bad.append(file.name)
    detail = f"{where} ({_human(size)}, sha256 {combined.hexdigest()[:16]}…"
    if bad:
        return Check(
            f"model {role}",
            FAIL,
            detail + f"): {', '.join(bad)} differ from the installed package's record",
            "the file is corrupt or was changed: reinstall its package with pip --force-reinstall",
        )
    detail += ", matches the package record)" if verified else ")"
    return Check(f"model {role}", OK, detail)
