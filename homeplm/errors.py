"""Errors with a machine code and a human message, one class per stage."""

from __future__ import annotations


class HomeplmError(Exception):
    """Base error: `code` is stable for scripts, the message is for people."""

    code = "error"
    exit_code = 1

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)


class ConfigError(HomeplmError):
    code = "config"
    exit_code = 2

    def __init__(self, problems: list[str], path: str = "") -> None:
        self.problems = problems
        self.path = path
        where = f"{path}: " if path else ""
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{where}{len(problems)} problem(s) in the configuration:\n{lines}")


class ModelMissingError(HomeplmError):
    code = "model_missing"
    exit_code = 3


class AudioError(HomeplmError):
    code = "audio"
    exit_code = 4


class AudioInputError(AudioError):
    code = "audio_input"


class WakeError(HomeplmError):
    code = "wake"


class VadError(HomeplmError):
    code = "vad"


class SttError(HomeplmError):
    code = "stt"


class BrainError(HomeplmError):
    code = "brain"


class TtsError(HomeplmError):
    code = "tts"
