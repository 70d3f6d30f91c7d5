"""The YAML loader: the shipped config equals the defaults; every problem is reported."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from homeplm.config import (
    InputSettings,
    Settings,
    load_settings,
    load_settings_text,
    settings_to_dict,
)
from homeplm.core.errors import ConfigError

SHIPPED = Path(__file__).resolve().parent.parent / "configs" / "homeplm.yaml"


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings_text(text, "test.yaml")
    assert info.value.path == "test.yaml"
    return info.value.problems


def _one_problem(text: str) -> str:
    problems = _problems(text)
    assert len(problems) == 1, problems
    return problems[0]


# --- the shipped file ------------------------------------------------------------------


def test_shipped_config_equals_defaults() -> None:
    assert load_settings(SHIPPED) == Settings()


def test_shipped_config_lists_every_key() -> None:
    data = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    assert list(data) == [f.name for f in dataclasses.fields(Settings)]
    for section in dataclasses.fields(Settings):
        value = getattr(Settings(), section.name)
        if isinstance(value, tuple):  # a list of entries (satellites): none by default
            assert data[section.name] == [], section.name
            continue
        expected = [f.name for f in dataclasses.fields(value)]
        assert list(data[section.name]) == expected, section.name


def test_shipped_config_matches_settings_to_dict() -> None:
    data = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    assert data == settings_to_dict(Settings())


def test_shipped_config_tells_how_to_check_it() -> None:
    assert "homeplm check-config --config PATH" in SHIPPED.read_text(encoding="utf-8")


# --- defaults and good values ----------------------------------------------------------


def test_none_path_gives_defaults() -> None:
    assert load_settings(None) == Settings()


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n", "null\n"])
def test_empty_file_gives_defaults(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_settings(path) == Settings()


def test_missing_keys_take_defaults() -> None:
    settings = load_settings_text("wake:\n  threshold: 0.7\nllm:\n")
    assert settings.wake.threshold == 0.7
    assert settings.wake.models == ("hey_jarvis",)
    assert settings.llm == Settings().llm


def test_tuple_from_single_string() -> None:
    assert load_settings_text("wake:\n  models: alexa\n").wake.models == ("alexa",)


def test_tuple_from_list() -> None:
    settings = load_settings_text("wake:\n  models: [alexa, /m/x.tflite]\n")
    assert settings.wake.models == ("alexa", "/m/x.tflite")


@pytest.mark.parametrize(("raw", "value"), [("3", 3), ("USB", "USB"), ("'3'", "3")])
def test_device_accepts_string_or_int(raw: str, value: object) -> None:
    assert load_settings_text(f"input:\n  device: {raw}\n").input.device == value


def test_float_field_accepts_int() -> None:
    settings = load_settings_text("vad:\n  silence_s: 1\n")
    assert settings.vad.silence_s == 1.0
    assert isinstance(settings.vad.silence_s, float)


def test_int_field_accepts_whole_float() -> None:
    assert load_settings_text("llm:\n  context_size: 4096.0\n").llm.context_size == 4096


def test_optional_accepts_null_and_value() -> None:
    settings = load_settings_text("asr:\n  model: /m/whisper\ntts:\n  speaker_id: 3\n")
    assert settings.asr.model == "/m/whisper"
    assert settings.tts.speaker_id == 3
    assert load_settings_text("asr:\n  model: null\n").asr.model is None


def test_yaml_booleans() -> None:
    assert load_settings_text("wake:\n  chime: no\n").wake.chime is False


def test_settings_to_dict_is_plain() -> None:
    data = settings_to_dict(Settings())
    assert data["wake"]["models"] == ["hey_jarvis"]
    assert data["input"] == {
        "device": "default",
        "block_ms": 80,
        "queue_chunks": 50,
        "stall_timeout_s": 3.0,
        "echo_cancel": False,
        "echo_delay_ms": 0,
        "noise_suppression": None,
        "auto_gain": False,
    }
    assert settings_to_dict(InputSettings()) == data["input"]


# --- problems --------------------------------------------------------------------------

MANY_ERRORS = """\
wake:
  threshhold: 0.6
  chime: 5
vad:
  silence_s: 2.5
asr:
  beam_size: fast
  compute_type: int4
llm: 7
logging:
  level: info
"""


def test_all_problems_reported_with_keys_and_lines() -> None:
    assert _problems(MANY_ERRORS) == [
        "wake.threshhold (line 2): unknown key; did you mean 'threshold'?",
        "wake.chime (line 3): expected true or false, got 5",
        "vad.silence_s (line 5): 2.5 is above the maximum 1.0",
        "asr.beam_size (line 7): expected an integer, got 'fast'",
        "asr.compute_type (line 8): 'int4' is not one of 'int8', 'int8_float32', 'float32', "
        "'default'; did you mean 'int8'?",
        "llm (line 9): expected a mapping of keys, got 7",
        "logging.level (line 11): 'info' is not one of 'DEBUG', 'INFO', 'WARNING', 'ERROR'; "
        "did you mean 'INFO'?",
    ]


def test_error_message_names_file_and_count() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings_text(MANY_ERRORS, "home.yaml")
    message = str(info.value)
    assert message.startswith("home.yaml: 7 problem(s)")
    assert "  - vad.silence_s (line 5): 2.5 is above the maximum 1.0" in message


def test_unknown_section_with_suggestion() -> None:
    assert _one_problem("\n\nwakeword:\n  threshold: 0.5\n") == (
        "wakeword (line 3): unknown key; did you mean 'wake'?"
    )


def test_unknown_key_without_close_match_lists_keys() -> None:
    problem = _one_problem("logging:\n  colour: red\n")
    assert problem == "logging.colour (line 2): unknown key; expected one of: level"


def test_duplicate_key() -> None:
    problem = _one_problem("vad:\n  threshold: 0.5\n  threshold: 0.6\n")
    assert problem == "vad.threshold (line 3): duplicate key (first at line 2)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("asr:\n  threads: 2.5\n", "asr.threads (line 2): expected an integer, got 2.5"),
        ("asr:\n  threads: true\n", "asr.threads (line 2): expected an integer, got true"),
        ("llm:\n  top_p: high\n", "llm.top_p (line 2): expected a number, got 'high'"),
        ("llm:\n  top_p: .nan\n", "llm.top_p (line 2): expected a number, got .nan"),
        ("wake:\n  chime: 5\n", "wake.chime (line 2): expected true or false, got 5"),
        ("wake:\n  chime: 'yes'\n", "wake.chime (line 2): expected true or false, got 'yes'"),
        (
            "asr:\n  language: 5\n",
            "asr.language (line 2): expected a string, got 5 (put it in quotes to use it as text)",
        ),
        (
            "asr:\n  model: [a, b]\n",
            "asr.model (line 2): expected a string, got a list",
        ),
        (
            "input:\n  device: 1.5\n",
            "input.device (line 2): expected a string or an integer, got 1.5",
        ),
        (
            "tts:\n  speaker_id: x\n",
            "tts.speaker_id (line 2): expected an integer, got 'x'",
        ),
        (
            "wake:\n  models: {a: 1}\n",
            "wake.models (line 2): expected a list, got a mapping",
        ),
        (
            "wake:\n  models:\n    - alexa\n    - 5\n",
            "wake.models[1] (line 4): expected a string, got 5 (put it in quotes to use it as text)",
        ),
        ("asr:\n  threads: !!int abc\n", None),
    ],
)
def test_wrong_types(text: str, expected: str | None) -> None:
    problem = _one_problem(text)
    if expected is None:
        assert problem.startswith("asr.threads (line 2): cannot read the value 'abc'")
    else:
        assert problem == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vad:\n  silence_s: 2.5\n", "vad.silence_s (line 2): 2.5 is above the maximum 1.0"),
        ("vad:\n  silence_s: 0.1\n", "vad.silence_s (line 2): 0.1 is below the minimum 0.25"),
        ("input:\n  block_ms: 5\n", "input.block_ms (line 2): 5 is below the minimum 10"),
        ("llm:\n  max_tokens: 5000\n", "llm.max_tokens (line 2): 5000 is above the maximum 4096"),
        ("wake:\n  threshold: .inf\n", "wake.threshold (line 2): inf is above the maximum 0.99"),
    ],
)
def test_out_of_range(text: str, expected: str) -> None:
    assert _one_problem(text) == expected


def test_range_bounds_are_inclusive() -> None:
    settings = load_settings_text("vad:\n  silence_s: 0.25\ninput:\n  block_ms: 500\n")
    assert settings.vad.silence_s == 0.25
    assert settings.input.block_ms == 500


def test_choice_accepts_option() -> None:
    assert load_settings_text("asr:\n  compute_type: float32\n").asr.compute_type == "float32"


def test_nested_section_not_a_mapping() -> None:
    assert _one_problem("llm:\n  - model\n") == "llm (line 2): expected a mapping of keys, got a list"
    assert _one_problem("\ntts: loud\n") == "tts (line 2): expected a mapping of keys, got 'loud'"


def test_top_level_not_a_mapping() -> None:
    problem = _one_problem("- wake\n- vad\n")
    assert problem == "(top level) (line 1): expected a mapping of keys, got a list"
    assert _one_problem("just text\n") == (
        "(top level) (line 1): expected a mapping of keys, got 'just text'"
    )


def test_yaml_syntax_error_names_line_and_column() -> None:
    problem = _one_problem("wake:\n  threshold: 0.5\n   chime: true\n")
    assert problem.startswith("YAML syntax error (line 3, column 9): ")
    assert "mapping values are not allowed here" in problem


def test_yaml_unclosed_bracket() -> None:
    problem = _one_problem("wake:\n  models: [alexa\nvad:\n")
    assert problem.startswith("YAML syntax error (line ")


def test_several_documents_are_an_error() -> None:
    assert _one_problem("wake: {}\n---\nvad: {}\n").startswith("YAML syntax error (line 2")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert info.value.path == str(path)
    assert info.value.problems == ["file not found"]
    assert str(path) in str(info.value)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path)
    assert info.value.problems == ["cannot read the file: Is a directory"]


def test_file_errors_carry_the_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("vad:\n  silence_s: 9\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(str(path))
    assert info.value.path == str(path)
    assert info.value.problems == ["vad.silence_s (line 2): 9.0 is above the maximum 1.0"]
    assert info.value.exit_code == 2
