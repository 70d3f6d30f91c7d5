"""The command line as a shell user meets it: exit codes and messages. No models load here."""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest

from homeplm.voice.wavio import write_wav
from tests import conftest
from tests.harness import homeplm_cli, run_with_closed_stdout


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
    assert result.returncode == 2  # bad input, not an audio device error (4)
    assert "not a readable PCM WAV" in result.stderr and "Traceback" not in result.stderr
    missing = homeplm_cli("transcribe", str(tmp_path / "nope.wav"), timeout=30)
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_unreadable_wavs_say_why_and_exit_2(tmp_path: Path) -> None:
    """Issue 8: `run --input /dev/null` said "not a readable PCM WAV file ()" and exited 4."""
    floats = tmp_path / "float.wav"
    fmt = struct.pack("<HHIIHH", 3, 1, 16000, 64000, 4, 32)
    body = b"WAVEfmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", 64) + bytes(64)
    floats.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all\n")
    cases = {
        "/dev/null": "/dev/null: empty (0 bytes), not a WAV file",
        str(tmp_path): "is a directory, not a WAV file",
        str(text): "not a readable PCM WAV file: not a WAV (RIFF) file",
        str(floats): "floating-point samples (format 3), and only integer PCM is read",
    }
    for path, reason in cases.items():
        result = homeplm_cli("run", "--input", path, "--output", "none", timeout=30)
        assert result.returncode == 2, (path, result.stderr)
        assert f"homeplm: {path}" in result.stderr and reason in result.stderr, result.stderr
        assert "()" not in result.stderr and "Traceback" not in result.stderr
    result = homeplm_cli("transcribe", str(floats), timeout=30)
    assert result.returncode == 2 and "floating-point" in result.stderr


def test_wav_output_in_a_missing_folder_is_bad_input(tmp_path: Path) -> None:
    result = homeplm_cli("say", "hello", "--output", str(tmp_path / "nope" / "x.wav"), timeout=30)
    assert result.returncode == 2 and "does not exist" in result.stderr, result.stderr


def test_usage_error_exit_code() -> None:
    assert homeplm_cli("frobnicate").returncode == 2
    assert homeplm_cli("--help").returncode == 0


def test_devices_lists_or_explains() -> None:
    result = homeplm_cli("devices")
    assert result.returncode == 0
    assert result.stdout.strip()


# --- a box without a sound card (issue 8) ---------------------------------------------------------


@pytest.fixture()
def no_sound_env(tmp_path: Path) -> dict[str, str]:
    """An environment where PortAudio finds no devices: no sound server to reach (a private, empty
    runtime dir, PULSE_SERVER at a socket that does not exist, no autospawn). Pointing ALSA at an
    empty config instead (ALSA_CONFIG_PATH) makes PortAudio abort at start-up here. A box with a
    real sound card still shows its hw devices: the test is skipped there."""
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    client_conf = tmp_path / "pulse-client.conf"
    client_conf.write_text("autospawn = no\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "PIPEWIRE_", "JACK_"))}
    env.update(
        XDG_RUNTIME_DIR=str(runtime),
        PULSE_SERVER=f"unix:{runtime}/no-server",
        PULSE_CLIENTCONFIG=str(client_conf),
    )
    probe = homeplm_cli("devices", env=env, timeout=60)
    if "no audio devices found" not in probe.stdout:
        pytest.skip(f"PortAudio sees sound hardware on this box:\n{probe.stdout}")
    return env


def test_no_sound_card_says_what_is_missing_and_how_to_run_anyway(
    no_sound_env: dict[str, str], tmp_path: Path
) -> None:
    """Issue 8: `homeplm run` said "The output device cannot record/play 16-bit mono: Error
    querying device -1"."""
    result = homeplm_cli("run", env=no_sound_env, timeout=60)
    assert result.returncode == 4, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("homeplm: no audio input device: PortAudio finds no audio devices at all")
    assert lines[1].startswith("homeplm: no audio output device: PortAudio finds no audio devices at all")
    assert "`--input question.wav`" in lines[0] and "`homeplm devices`" in lines[0]
    assert "`--output none` or `--output reply.wav`" in lines[1] and "`homeplm devices`" in lines[1]
    assert "Error querying device" not in result.stderr and "Traceback" not in result.stderr
    assert " loaded" not in result.stderr  # said before any model loads

    text_only = homeplm_cli("run", "--output", "none", env=no_sound_env, timeout=60)
    assert text_only.returncode == 4
    assert "no audio input device" in text_only.stderr and "output device" not in text_only.stderr

    wav = tmp_path / "q.wav"
    write_wav(wav, np.zeros(1600, dtype=np.int16), 16000)
    from_file = homeplm_cli("run", "--input", str(wav), env=no_sound_env, timeout=60)
    assert from_file.returncode == 4
    assert "no audio output device" in from_file.stderr and "input device" not in from_file.stderr

    said = homeplm_cli("say", "hello", env=no_sound_env, timeout=60)
    assert said.returncode == 4 and "homeplm: no audio output device" in said.stderr, said.stderr


# --- stdout closed by its reader (issue 8: `homeplm ask --explain … | head -1`) -------------------


@pytest.mark.parametrize("args", [("check-config", "--show"), ("devices",), ("memory", "--help")])
def test_a_closed_stdout_ends_quietly(args: tuple[str, ...]) -> None:
    result = run_with_closed_stdout(*args)
    assert result.returncode in (0, 141), result.stderr
    for noise in ("Traceback", "BrokenPipe", "Exception ignored"):
        assert noise not in result.stderr, result.stderr
    if args[0] != "memory":  # argparse's own help swallows write errors: exit 0
        assert result.returncode == 141


# --- tests clean up after themselves (issue 8: homeplm-state-* dirs were left in /tmp) -----------


def test_cli_state_dirs_live_under_pytests_temp_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    before = set(Path(tempfile.gettempdir()).glob("homeplm-state-*"))
    homeplm_cli("--version", timeout=30)
    assert set(Path(tempfile.gettempdir()).glob("homeplm-state-*")) == before
    assert conftest._CLI_STATE_BASE[0].is_relative_to(tmp_path_factory.getbasetemp())
