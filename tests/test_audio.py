import io
import wave

import numpy as np
import pytest

from homeplm.audio import CHUNK_SAMPLES, Chunker, StreamResampler, resample, rms_dbfs
from homeplm.chime import wake_chime
from homeplm.errors import AudioInputError
from homeplm.fileio import load_wav_16k, read_wav, write_wav
from homeplm.wakephrase import phrases_for, strip_wake_phrase


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
    with pytest.raises(AudioInputError, match="holds no audio"):
        read_wav(empty)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF0000WAVEnot really")
    with pytest.raises(AudioInputError, match="not a readable PCM WAV"):
        read_wav(junk)
    with pytest.raises(AudioInputError, match="no such file"):
        read_wav(tmp_path / "missing.wav")


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
