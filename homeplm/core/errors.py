"""Errors with a machine code and a human message, one class per stage."""

from __future__ import annotations


class HomeplmError(Exception):
    """Base error: `code` is stable for scripts, the message is for people."""

    code = "error"
    exit_code = 1

    def __init__(self, message: str, *, code: str | None = None, exit_code: int | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self)


class ConfigError(HomeplmError):
    """The configuration is wrong: every problem, each with its dotted key and line."""

    code = "config"
    exit_code = 2

    def __init__(self, problems: list[str], path: str = "") -> None:
        self.problems = problems
        self.path = path
        where = f"{path}: " if path else ""
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{where}{len(problems)} problem(s) in the configuration:\n{lines}")


class BadFileError(HomeplmError):
    """A file named on the command line that cannot be used (missing, unreadable, not a PCM WAV, or
    an output in a folder that does not exist): bad input, like a usage error — not a device fault."""

    code = "bad_file"
    exit_code = 2


class ModelMissingError(HomeplmError):
    """A model file is missing; the message names the package that ships it."""

    code = "model_missing"
    exit_code = 3


class AudioError(HomeplmError):
    """An audio device cannot be used."""

    code = "audio"
    exit_code = 4


class AudioInputError(AudioError):
    """The microphone failed or went away."""

    code = "audio_input"


class WakeError(HomeplmError):
    """The wake word model failed."""

    code = "wake"


class VadError(HomeplmError):
    """The voice activity model failed."""

    code = "vad"


class SttError(HomeplmError):
    """Speech recognition failed."""

    code = "stt"


class BrainError(HomeplmError):
    """The brain could not answer (a route failed, the model is busy or broken)."""

    code = "brain"


class TtsError(HomeplmError):
    """Speech synthesis failed."""

    code = "tts"
