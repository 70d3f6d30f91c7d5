"""The command line as a shell user meets it: exit codes and messages. No models load here."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import homeplm_cli


def test_check_config_ok() -> None:
    result = homeplm_cli("check-config", "--config", "configs/homeplm.yaml")
    assert result.returncode == 0, result.stderr
    assert "configuration OK" in result.stdout and "MISSING" not in result.stdout


def test_check_config_reports_every_problem_with_key_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("wake:\n  threshhold: 0.5\nvad:\n  silence_s: 3\nasr:\n  beam_size: fast\n")
    result = homeplm_cli("check-config", "--config", str(bad))
    assert result.returncode == 2
    for needle in (
        "wake.threshhold (line 2)",
        "did you mean 'threshold'",
        "vad.silence_s (line 4)",
        "asr.beam_size (line 6)",
    ):
        assert needle in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_model_names_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("llm:\n  model: /nonexistent/model.gguf\n")
    result = homeplm_cli("check-config", "--config", str(cfg))
    assert result.returncode == 3
    assert "llm.model" in result.stdout and "/nonexistent/model.gguf" in result.stdout


def test_bad_wav_fails_before_models_load(tmp_path: Path) -> None:
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF....WAVEjunk")
    result = homeplm_cli("run", "--input", str(junk), "--output", "none", timeout=30)
    assert result.returncode == 4
    assert "not a readable PCM WAV" in result.stderr and "Traceback" not in result.stderr
    missing = homeplm_cli("transcribe", str(tmp_path / "nope.wav"), timeout=30)
    assert missing.returncode == 4 and "no such file" in missing.stderr


def test_usage_error_exit_code() -> None:
    assert homeplm_cli("frobnicate").returncode == 2
    assert homeplm_cli("--help").returncode == 0


def test_devices_lists_or_explains() -> None:
    result = homeplm_cli("devices")
    assert result.returncode == 0
    assert result.stdout.strip()
