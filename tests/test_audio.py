import io
import os
import struct
import wave

import numpy as np
import pytest

from homeplm.core.audio import CHUNK_SAMPLES, Chunker, StreamResampler, resample, rms_dbfs
from homeplm.core.errors import BadFileError
from homeplm.voice.chime import wake_chime
from homeplm.voice.wakephrase import phrases_for, strip_wake_phrase
from homeplm.voice.wavio import WavFileSink, load_wav_16k, read_wav, write_wav


def tone(rate: int, seconds: float, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * freq * t) * 10000).astype(np.int16)


def test_resample_keeps_duration_and_pitch() -> None:
    out = resample(tone(44100, 1.0), 44100, 16000)
    assert len(out) == 16000
    spectrum = np.abs(np.fft.rfft(out.astype(float)))
    assert abs(np.argmax(spectrum) - 440) <= 2


def test_resample_removes_content_above_new_nyquist() -> None:
    out = resample(tone(48000, 1.0, freq=12000), 48000, 16000)
    assert rms_dbfs(out) < rms_dbfs(tone(16000, 1.0)) - 20


def test_stream_resampler_matches_length() -> None:
    r = StreamResampler(48000, 16000)
    src = tone(48000, 1.0)
    out = np.concatenate([r.process(b) for b in np.array_split(src, 37)])
    assert abs(len(out) - 16000) <= 2


def test_chunker_exact_chunks_and_flush() -> None:
    c = Chunker()
    got = list(c.push(np.ones(3000, dtype=np.int16)))
    assert [len(x) for x in got] == [CHUNK_SAMPLES, CHUNK_SAMPLES]
    rest = list(c.flush())
    assert len(rest) == 1 and rest[0][:440].all() and not rest[0][440:].any()


def _wav_bytes(audio: np.ndarray, rate: int, width: int, channels: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(audio.tobytes())
    return buf.getvalue()


@pytest.mark.parametrize(
    ("rate", "width", "channels"),
    [(8000, 2, 1), (44100, 2, 2), (48000, 4, 1), (22050, 1, 1), (16000, 3, 2)],
)
def test_any_wav_becomes_16k_mono(tmp_path, rate: int, width: int, channels: int) -> None:
    base = tone(rate, 0.5)
    if width == 1:
        data = ((base.astype(np.int32) >> 8) + 128).astype(np.uint8)
    elif width == 4:
        data = base.astype(np.int32) << 16
    elif width == 3:
        data = (
            np.frombuffer(((base.astype(np.int32) << 8).astype("<i4")).tobytes(), np.uint8)
            .reshape(-1, 4)[:, :3]
            .copy()
        )
    else:
        data = base
    if channels == 2:
        data = np.repeat(data, 2, axis=0)  # each frame: the same sample on both channels
    path = tmp_path / "x.wav"
    path.write_bytes(_wav_bytes(np.ascontiguousarray(data), rate, width, channels))
    out = load_wav_16k(path)
    assert abs(len(out) - 8000) <= 2
    assert rms_dbfs(out) > -15


def test_bad_wavs_give_clear_errors(tmp_path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(_wav_bytes(np.zeros(0, np.int16), 16000, 2, 1))
    with pytest.raises(BadFileError, match="holds no audio"):
        read_wav(empty)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF0000WAVEnot really")
    with pytest.raises(BadFileError, match="not a readable PCM WAV"):
        read_wav(junk)
    with pytest.raises(BadFileError, match="no such file"):
        read_wav(tmp_path / "missing.wav")


def _riff(fmt: bytes, data: bytes = b"\0" * 320) -> bytes:
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    body = b"WAVE" + chunks
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _fmt(tag: int, bits: int, sub_format: int | None = None) -> bytes:
    fmt = struct.pack("<HHIIHH", tag, 1, 16000, 16000 * bits // 8, bits // 8, bits)
    if sub_format is not None:  # WAVE_FORMAT_EXTENSIBLE: cbSize, valid bits, mask, GUID
        fmt += struct.pack("<HHIH", 22, bits, 4, sub_format) + bytes.fromhex("000000001000800000aa00389b71")
    return fmt


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty (0 bytes), not a WAV file"),
        (b"ID3\x04\x00mp3 frames", "not a WAV (RIFF) file; it looks like MP3"),
        (b"hello, this is text", "not a WAV (RIFF) file;"),
        (b"RIFF\x10\x00\x00\x00AVI LIST", "a RIFF file, but of type b'AVI ', not WAVE"),
        (b"RIFF\x10\x00", "the file ends inside its header (truncated?)"),
        (_riff(_fmt(1, 16))[:30], "the file ends inside its header (truncated?)"),
        (b"RIFF\x10\x00\x00\x00WAVEfm", "fmt chunk and/or data chunk missing"),
        (_riff(_fmt(3, 32)), "floating-point samples (format 3), and only integer PCM is read"),
        (_riff(_fmt(0xFFFE, 32, sub_format=3)), "floating-point samples (format 3)"),
        (_riff(_fmt(6, 8)), "compressed A-law audio (format 6)"),
        (_riff(_fmt(0x161, 16)), "unsupported sample format (format tag 0x161)"),
    ],
)
def test_unreadable_wav_says_why(tmp_path, content: bytes, reason: str) -> None:
    """Issue 8: the reason was lost ("not a readable PCM WAV file ()" for /dev/null)."""
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(BadFileError) as caught:
        read_wav(path)
    assert reason in caught.value.message and "()" not in caught.value.message
    assert caught.value.exit_code == 2


def test_unreadable_paths_say_why(tmp_path) -> None:
    with pytest.raises(BadFileError, match="/dev/null: empty"):
        read_wav("/dev/null")
    with pytest.raises(BadFileError, match="is a directory"):
        read_wav(tmp_path)
    locked = tmp_path / "locked.wav"
    write_wav(locked, tone(16000, 0.1), 16000)
    locked.chmod(0)
    if os.access(locked, os.R_OK):
        pytest.skip("running as root: file permissions do not apply")
    with pytest.raises(BadFileError, match="permission denied"):
        read_wav(locked)


def test_wav_sink_refuses_a_folder_it_cannot_write(tmp_path) -> None:
    with pytest.raises(BadFileError, match="does not exist"):
        WavFileSink(tmp_path / "nope" / "reply.wav")
    with pytest.raises(BadFileError, match="is a directory"):
        WavFileSink(tmp_path)


def test_write_then_read_roundtrip(tmp_path) -> None:
    audio = tone(22050, 0.2)
    write_wav(tmp_path / "a.wav", audio, 22050)
    back, rate = read_wav(tmp_path / "a.wav")
    assert rate == 22050 and np.array_equal(back, audio)


def test_chime_is_short_and_audible() -> None:
    c = wake_chime(22050)
    assert 0.1 < len(c) / 22050 < 0.3
    assert -30 < rms_dbfs(c) < -3


def test_wake_phrase_is_stripped() -> None:
    phrases = phrases_for(["hey_jarvis", "/models/computer_v2.tflite"])
    assert strip_wake_phrase("Hey Jarvis, turn on the light.", phrases) == "turn on the light."
    assert strip_wake_phrase("Hey, Jervis. What time is it?", phrases) == "What time is it?"
    assert strip_wake_phrase("Jarvis what time is it", phrases) == "what time is it"
    assert strip_wake_phrase("Computer, lights off", phrases) == "lights off"
    assert strip_wake_phrase("Turn on the light", phrases) == "Turn on the light"
    assert strip_wake_phrase("Hey Jarvis.", phrases) == ""


# --- no sound card (issue 8): what is missing, what exists, how to run anyway --------------------


def _devices(*specs: tuple[str, int, int]) -> list[dict]:
    return [
        {
            "index": i,
            "name": name,
            "max_input_channels": ins,
            "max_output_channels": outs,
            "default_samplerate": 48000.0,
            "is_default_in": False,
            "is_default_out": False,
        }
        for i, (name, ins, outs) in enumerate(specs)
    ]


@pytest.mark.parametrize(
    ("devices", "kind", "said"),
    [
        ([], "output", "no audio output device: PortAudio finds no audio devices at all"),
        ([], "input", "no audio input device: PortAudio finds no audio devices at all"),
        (
            _devices(("USB Mic", 1, 0)),
            "output",
            "no audio output device; the devices that exist are input only (input devices: 0: USB Mic)",
        ),
        (
            _devices(("USB Mic", 1, 0), ("HDMI", 0, 2)),
            "output",
            "no default audio output device; output devices: 1: HDMI: set output.device to one",
        ),
    ],
)
def test_missing_default_device_says_what_exists_and_how_to_run_anyway(
    monkeypatch: pytest.MonkeyPatch, devices: list, kind: str, said: str
) -> None:
    from homeplm.backends import sounddevice_audio as sda
    from homeplm.core.errors import AudioError, AudioInputError

    monkeypatch.setattr(sda, "list_devices", lambda: devices)
    with pytest.raises(AudioError) as caught:
        sda.require_device("default", kind)  # type: ignore[arg-type]
    message = caught.value.message
    assert message.startswith(said), message
    assert "`homeplm devices`" in message
    if kind == "output":
        assert "`--output none` or `--output reply.wav`" in message
        assert caught.value.exit_code == 4 and not isinstance(caught.value, AudioInputError)
    else:
        assert "`--input question.wav`" in message and isinstance(caught.value, AudioInputError)


def test_present_default_device_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    from homeplm.backends import sounddevice_audio as sda

    devices = _devices(("pulse", 32, 32))
    devices[0]["is_default_out"] = True
    monkeypatch.setattr(sda, "list_devices", lambda: devices)
    assert sda.require_device("default", "output") is None
    assert sda.require_device("pulse", "output") == 0


# --- text for piper (issue 8: a NUL in an announce failed the synthesis) -------------------------


def test_control_characters_are_cleaned_before_synthesis() -> None:
    from homeplm.backends.piper_tts import clean_text

    assert clean_text("Dinner\x00 is\x07 ready") == "Dinner is ready"
    assert clean_text("line one\r\nline\ttwo\x1b[0m\x7f") == "line one \nline\ttwo[0m"
    assert clean_text("\x00\x01\x02").strip() == ""
    assert clean_text("Grüße, 東京") == "Grüße, 東京"
