"""Clock-free end-of-speech detection: driven by chunk durations and a speech/no-speech flag per chunk."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EndpointState(StrEnum):
    """Where the endpointer is: waiting for speech, in speech, or done (and why)."""

    WAITING = "waiting"  # no speech yet
    SPEAKING = "speaking"
    DONE = "done"  # speech, then enough silence
    TIMEOUT = "timeout"  # no speech started in time
    MAX_LENGTH = "max-length"  # speech went on too long; treated like DONE


FINAL_STATES = frozenset({EndpointState.DONE, EndpointState.TIMEOUT, EndpointState.MAX_LENGTH})


@dataclass(frozen=True, slots=True)
class EndpointerConfig:
    """The endpointer's timings, in milliseconds of audio."""

    start_timeout_ms: int = 5000
    min_speech_ms: int = 160
    silence_ms: int = 640
    max_utterance_ms: int = 15000


class Endpointer:
    """Feed (chunk_ms, is_speech) per chunk; the state says when the utterance is over.

    Speech starts after `min_speech_ms` of consecutive speech; it ends after `silence_ms` of
    consecutive non-speech. Speech start and end positions are kept in ms from the first chunk.
    """

    def __init__(self, config: EndpointerConfig) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        self.state = EndpointState.WAITING
        self.elapsed_ms = 0
        self.speech_start_ms: int | None = None
        self.speech_end_ms: int | None = None
        self._speech_run_ms = 0
        self._silence_run_ms = 0

    @property
    def silence_ms(self) -> int:
        """How long the current run of non-speech has lasted (after speech started)."""
        return self._silence_run_ms

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES

    def process(self, chunk_ms: int, is_speech: bool) -> EndpointState:
        if self.finished:
            return self.state
        self.elapsed_ms += chunk_ms
        if self.state is EndpointState.WAITING:
            self._wait_for_speech(chunk_ms, is_speech)
        else:
            self._follow_speech(chunk_ms, is_speech)
        return self.state

    def _wait_for_speech(self, chunk_ms: int, is_speech: bool) -> None:
        self._speech_run_ms = self._speech_run_ms + chunk_ms if is_speech else 0
        if is_speech and self._speech_run_ms >= max(self.config.min_speech_ms, 1):
            self.state = EndpointState.SPEAKING
            self.speech_start_ms = self.elapsed_ms - self._speech_run_ms
        elif self.elapsed_ms >= self.config.start_timeout_ms:
            self.state = EndpointState.TIMEOUT

    def _follow_speech(self, chunk_ms: int, is_speech: bool) -> None:
        self._silence_run_ms = 0 if is_speech else self._silence_run_ms + chunk_ms
        assert self.speech_start_ms is not None
        if self._silence_run_ms >= self.config.silence_ms:
            self.state = EndpointState.DONE
            self.speech_end_ms = self.elapsed_ms - self._silence_run_ms
        elif self.elapsed_ms - self.speech_start_ms >= self.config.max_utterance_ms:
            self.state = EndpointState.MAX_LENGTH
            self.speech_end_ms = self.elapsed_ms


class RefractoryGate:
    """Ignores triggers for `refractory_ms` of audio after one fired (clock-free)."""

    def __init__(self, refractory_ms: int) -> None:
        self.refractory_ms = refractory_ms
        self._quiet_left_ms = 0

    def advance(self, chunk_ms: int) -> None:
        self._quiet_left_ms = max(0, self._quiet_left_ms - chunk_ms)

    @property
    def open(self) -> bool:
        return self._quiet_left_ms == 0

    def fire(self) -> None:
        self._quiet_left_ms = self.refractory_ms
