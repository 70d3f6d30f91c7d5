"""A heard command about nothing the house has, read again against the house's own commands: the
command space, the decision (fake scores), and Whisper's forced reading of real speech."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from homeplm.house.command_space import CommandSpace, command_sentences
from homeplm.voice.recheck import CommandRecheck, written


@dataclass(frozen=True)
class Dev:
    name: str
    component: str
    area: str | None = None
    aliases: tuple[str, ...] = ()
    modes: tuple[str, ...] = ()


HOUSE = (
    Dev("Hall Light", "light", "Hall"),
    Dev("Ceiling 2", "light", "Office", aliases=("office lamp",)),
    Dev("Kettle", "switch", "Kitchen"),
    Dev("Heating", "climate", "Hall", modes=("heat", "auto", "off")),
    Dev("Garage Door", "cover", "Garage"),
    Dev("Front Door", "lock", "Hall"),
)


def test_the_house_says_its_devices_by_name_alias_and_area() -> None:
    said = set(command_sentences(HOUSE))
    assert {"turn off the hall light", "switch the office light on", "turn on the office lamp"} <= said
    assert {"start the kettle", "close the garage door", "unlock the front door"} <= said
    assert {"set the heating to auto", "set the thermostat to {n} degrees"} <= said
    assert {"turn off all the lights", "is the front door locked", "how warm is it in the garage"} <= said
    assert not any("the all the" in s for s in said)
    assert not any("lock the kettle" in s or "start the hall light" in s for s in said)


@pytest.mark.parametrize(
    ("heard", "nearest"),
    [
        ("turn off the Heaton.", "turn off the heating"),
        ("close the damaged Door.", "close the garage door"),
        ("Set the heating to all go.", "set the heating to auto"),
        ("Switch the Cold Light off.", "switch the hall light off"),
        ("set the Office Lamb to 40%.", "set the office lamp to 40 percent"),
    ],
)
def test_the_nearest_sentences_hold_what_was_meant(heard: str, nearest: str) -> None:
    found = [sentence for sentence, _ in CommandSpace.of(HOUSE).nearest(heard)]
    assert nearest in found, found


def test_a_number_slot_needs_one_number_heard() -> None:
    space = CommandSpace.of(HOUSE)
    assert all("40" in s for s, _ in space.nearest("dim the hall light to 40%"))
    assert all(not any(c.isdigit() for c in s) for s, _ in space.nearest("dim the hall light"))
    assert space.nearest("set the heating to 20 or 21 degrees") == []


class Scores:
    """A fake recogniser: each text's log-probability from a table (default -100)."""

    def __init__(self, table: dict[str, float]) -> None:
        self.table = table
        self.asked: list[list[str]] = []

    def score(self, audio: np.ndarray, texts: Sequence[str]) -> list[float]:
        self.asked.append(list(texts))
        return [self.table.get(t, -100.0) for t in texts]


def test_a_house_sentence_the_audio_supports_replaces_what_was_heard() -> None:
    stt = Scores({"Hey Jarvis, turn off the heaton.": -30.0, "Hey Jarvis, turn off the heating.": -31.0})
    recheck = CommandRecheck(stt, lambda text: ["turn off the heating", "turn off the hall light"])
    audio = np.zeros(1600, np.int16)
    found = recheck.check(audio, "Hey Jarvis, turn off the Heaton.", "turn off the Heaton.")
    assert found is not None and found.text == "turn off the heating"
    assert found.heard == "turn off the Heaton." and found.heard_score == -30.0
    # Every text is written alike and keeps the wake phrase as Whisper wrote it (it is in the audio).
    assert stt.asked == [
        [
            "Hey Jarvis, turn off the heaton.",
            "Hey Jarvis, turn off the heating.",
            "Hey Jarvis, turn off the hall light.",
        ]
    ]


def test_what_the_audio_supports_far_better_is_kept() -> None:
    stt = Scores({"we need a new kettle.": -26.0, "turn on the kettle.": -51.0})
    recheck = CommandRecheck(stt, lambda text: ["turn on the kettle"])
    assert recheck.check(np.zeros(1600, np.int16), "we need a new Kettle.", "we need a new Kettle.") is None


def test_nothing_is_asked_when_the_house_offers_nothing() -> None:
    stt = Scores({})
    assert CommandRecheck(stt, lambda text: []).check(np.zeros(1600, np.int16), "hi", "hi") is None
    assert stt.asked == []


def test_texts_are_written_alike() -> None:
    assert written("Set the Bedroom Fan to 50 percent") == "set the bedroom fan to 50%."
    assert written("Set the Bedroom Fan to 50%.") == "set the bedroom fan to 50%."
    assert written("who's there?") == "who's there."


# -- real speech, the real recogniser ----------------------------------------------------------------


@pytest.fixture(scope="module")
def whisper() -> Any:
    from homeplm.backends.whisper_stt import WhisperStt
    from homeplm.config.schema import AsrSettings

    return WhisperStt(AsrSettings())


@pytest.fixture(scope="module")
def said() -> Any:
    from homeplm.backends.piper_tts import PiperTts
    from homeplm.config.schema import TtsSettings
    from homeplm.core.audio import SAMPLE_RATE, resample

    tts = PiperTts(TtsSettings())

    def say(text: str) -> np.ndarray:
        pad = np.zeros(SAMPLE_RATE // 4, np.int16)
        return np.concatenate((pad, resample(tts.synthesize(text), tts.sample_rate, SAMPLE_RATE), pad))

    return say


@pytest.mark.real
def test_whisper_reads_the_house_sentence_that_was_said(whisper: Any, said: Any) -> None:
    audio = said("Hey Jarvis, turn off the heating.")
    whisper.transcribe(audio)  # its encoding is kept and reused
    candidates = ["turn off the hall light", "turn off the heating", "turn on the heating"]
    recheck = CommandRecheck(whisper, lambda text: candidates)
    found = recheck.check(audio, "Hey Jarvis, turn off the Heaton.", "turn off the Heaton.")
    assert found is not None and found.text == "turn off the heating", found
    scores = whisper.score(audio, [f"hey jarvis, {written(c)}" for c in candidates])
    assert scores[1] == max(scores), scores
    # The same figures without the kept encoding (another array of the same samples).
    assert whisper.score(audio.copy(), [f"hey jarvis, {written(candidates[1])}"])[0] == pytest.approx(
        scores[1], abs=0.5
    )


@pytest.mark.real
def test_whisper_keeps_talk_that_is_not_a_command(whisper: Any, said: Any) -> None:
    audio = said("Hey Jarvis, we need a new kettle.")
    recheck = CommandRecheck(whisper, lambda text: ["turn on the kettle", "switch off the kettle"])
    assert recheck.check(audio, "Hey Jarvis, we need a new kettle.", "we need a new kettle.") is None


async def test_a_spoken_turn_acts_on_the_rechecked_command_and_says_what_was_heard() -> None:
    from homeplm.core.events import EventType
    from homeplm.voice.listener import Listener
    from tests.fakes import SILENCE, SPEECH, WAKE, FakeWake, ListSource, chunks, make_pipeline

    pipeline, recorder, stt, chat, _ = make_pipeline()
    # FakeStt hears "Hey Jarvis, light"; the house's "turn on the light" reads as well.
    scores = Scores({"Hey Jarvis, light.": -20.0, "Hey Jarvis, turn on the light.": -21.0})
    pipeline.recheck = CommandRecheck(scores, lambda text: ["turn on the light"])
    listener = Listener(pipeline, FakeWake(), recorder)
    await listener.run(ListSource(chunks((SILENCE, 3), (WAKE, 2), (SPEECH, 4), (SILENCE, 10))))
    transcript = recorder.first(EventType.TRANSCRIPT)
    assert transcript is not None
    assert transcript.data.text == "turn on the light" and transcript.data.rechecked == "light"
    assert transcript.data.heard == "Hey Jarvis, light"
    assert chat.calls[0][-1].content == "turn on the light"


def test_a_recheck_never_turns_the_way_a_command_was_heard() -> None:
    table = {"lock the front dour.": -30.0, "unlock the front door.": -29.0, "lock the front door.": -31.0}
    stt = Scores(table)
    recheck = CommandRecheck(stt, lambda text: ["unlock the front door", "lock the front door"])
    found = recheck.check(np.zeros(1600, np.int16), "lock the front dour.", "lock the front dour.")
    assert found is not None and found.text == "lock the front door"
    # Heard both ways ("start off"): the audio decides.
    stt = Scores({"start off the kettle.": -30.0, "turn off the kettle.": -29.0})
    recheck = CommandRecheck(stt, lambda text: ["turn off the kettle"])
    found = recheck.check(np.zeros(1600, np.int16), "start off the kettle.", "start off the kettle.")
    assert found is not None and found.text == "turn off the kettle"
