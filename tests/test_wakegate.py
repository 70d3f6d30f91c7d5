from homeplm.voice.wakegate import VadGatedWake
from tests.fakes import SILENCE, SPEECH, WAKE, FakeVad, FakeWake, chunk


class CountingWake(FakeWake):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    def process(self, c):
        self.seen.append(int(c[0]))
        return super().process(c)


def test_quiet_room_never_runs_the_wake_model() -> None:
    wake = CountingWake()
    gate = VadGatedWake(wake, FakeVad(), 0.5)
    assert all(gate.process(chunk(SILENCE)) is None for _ in range(100))
    assert wake.seen == [] and gate.chunks_run == 0


def test_speech_onset_catches_up_on_the_backlog_in_order() -> None:
    wake = CountingWake()
    gate = VadGatedWake(wake, FakeVad(), 0.5, backlog_chunks=4, hangover_chunks=3)
    for value in (SILENCE, 1, 2, 3, 4):
        gate.process(chunk(value))
    gate.process(chunk(SPEECH))
    assert wake.seen == [1, 2, 3, 4, SPEECH] and wake.resets == 1


def test_wake_word_found_in_backlog_is_reported() -> None:
    # A wake word too quiet for the VAD, followed by speech: found on catch-up.
    gate = VadGatedWake(FakeWake(), lambda_vad({SPEECH}), 0.5, backlog_chunks=8)
    assert gate.process(chunk(WAKE)) is None
    detection = gate.process(chunk(SPEECH))
    assert detection is not None and detection.name == "hey_jarvis"


def test_hangover_then_sleep() -> None:
    wake = CountingWake()
    gate = VadGatedWake(wake, FakeVad(), 0.5, backlog_chunks=4, hangover_chunks=3)
    gate.process(chunk(SPEECH))
    for _ in range(10):
        gate.process(chunk(SILENCE))
    assert wake.seen == [SPEECH, SILENCE, SILENCE] and not gate.awake


def lambda_vad(speech_values: set[int]):
    class Vad:
        def speech_probability(self, c) -> float:
            return 1.0 if int(c[0]) in speech_values else 0.0

        def reset(self) -> None:
            return None

    return Vad()
