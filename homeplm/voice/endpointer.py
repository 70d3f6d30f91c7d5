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


# Hysteresis (as Home Assistant's VoiceCommandSegmenter.reset_seconds): a run of speech (or of
# silence) is forgotten only after this much of the opposite state. One 80 ms chunk is VAD flicker
# (a stop consonant inside a word, a click in the quiet); two chunks, the default min_speech_ms and
# so the least that counts as speech at all, are a real change. A constant, not yet a config key.
RESET_MS = 160


@dataclass(frozen=True, slots=True)
class EndpointerConfig:
    """The endpointer's timings, in milliseconds of audio (reset_ms ≤ one chunk: no hysteresis)."""

    start_timeout_ms: int = 5000
    min_speech_ms: int = 160
    silence_ms: int = 640
    max_utterance_ms: int = 15000
    reset_ms: int = RESET_MS


class Endpointer:
    """Feed (chunk_ms, is_speech) per chunk; the state says when the utterance is over.

    Speech starts after `min_speech_ms` of speech; it ends after `silence_ms` of non-speech. Either
    run is reset only by `reset_ms` of the opposite state in a row, so one odd chunk neither
    restarts the speech count nor the silence count (it is not counted in either). Speech start and
    end positions are kept in ms from the first chunk.
    """

    def __init__(self, config: EndpointerConfig) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        self.state = EndpointState.WAITING
        self.elapsed_ms = 0
        self.speech_start_ms: int | None = None
        self.speech_end_ms: int | None = None
        self.silence_start_ms: int | None = None  # where the current run of silence began
        self._speech_run_ms = 0
        self._silence_run_ms = 0
        self._run_start_ms = 0  # where the current run of speech began (before speech starts)
        self._opposite_ms = 0  # the opposite state in a row, towards forgetting the current run

    @property
    def silence_ms(self) -> int:
        """Silence counted in the current run (after speech started); 0 once speech resumed."""
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

    def _opposite(self, chunk_ms: int) -> bool:
        """One more chunk against the current run: True once it has lasted `reset_ms`."""
        self._opposite_ms += chunk_ms
        if self._opposite_ms < self.config.reset_ms:
            return False
        self._opposite_ms = 0
        return True

    def _wait_for_speech(self, chunk_ms: int, is_speech: bool) -> None:
        if is_speech:
            if self._speech_run_ms == 0:
                self._run_start_ms = self.elapsed_ms - chunk_ms
            self._speech_run_ms += chunk_ms
            self._opposite_ms = 0
        elif self._speech_run_ms and self._opposite(chunk_ms):
            self._speech_run_ms = 0
        if is_speech and self._speech_run_ms >= max(self.config.min_speech_ms, 1):
            self.state = EndpointState.SPEAKING
            self.speech_start_ms = self._run_start_ms
        elif self.elapsed_ms >= self.config.start_timeout_ms:
            self.state = EndpointState.TIMEOUT

    def _follow_speech(self, chunk_ms: int, is_speech: bool) -> None:
        if not is_speech:
            if self._silence_run_ms == 0:
                self.silence_start_ms = self.elapsed_ms - chunk_ms
            self._silence_run_ms += chunk_ms
            self._opposite_ms = 0
        elif self._silence_run_ms and self._opposite(chunk_ms):
            self._silence_run_ms = 0
            self.silence_start_ms = None
        assert self.speech_start_ms is not None
        if self._silence_run_ms >= self.config.silence_ms:
            self.state = EndpointState.DONE
            self.speech_end_ms = self.silence_start_ms
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
