import pytest

from homeplm.voice.asr_bias import MAX_PROMPT_CHARS, bias_prompt


def test_prompt_lists_names_then_areas_once() -> None:
    prompt = bias_prompt(["Kitchen light", "Nursery fan", "Kitchen light"], ["Kitchen", "Kitchen"])
    assert prompt == "Kitchen light, Nursery fan. Kitchen."
    assert bias_prompt([], []) is None


def test_prompt_is_kept_short() -> None:
    prompt = bias_prompt([f"device number {i}" for i in range(200)])
    assert prompt is not None and len(prompt) <= MAX_PROMPT_CHARS + 1 and prompt.endswith(".")


@pytest.mark.real
def test_biasing_with_the_house_names_helps_a_robotic_voice(real_parts) -> None:
    from homeplm.bench.asr import bias_accuracy

    accuracy = bias_accuracy(real_parts.parts["stt"])
    if accuracy is None:
        pytest.skip("espeak-ng is not installed")
    print(f"\ndevice names heard right: plain {accuracy['plain']:.0%}, biased {accuracy['biased']:.0%}")
    assert accuracy["biased"] >= accuracy["plain"] and accuracy["biased"] >= 0.8


def test_the_house_is_prompted_as_commands_after_the_wake_phrase() -> None:
    from homeplm.voice.asr_bias import PROMPT_CHARS, command_prompt

    prompt = command_prompt(
        [
            ("Kitchen Light", "light"),
            ("Office Blind", "cover"),
            ("Kitchen Light", "light"),
            ("Hall", "sensor"),
            ("Desk Lamp", "light"),
            ("Thermostat", "climate"),
        ],
        "hey jarvis",
        ["Kitchen", "Office"],
    )
    assert prompt == (
        "Hey Jarvis, turn on the Desk Lamp. Switch off the Kitchen Light. Close the Office Blind. "
        "Set the Thermostat to 21 degrees. Turn the heating off. Turn on the lights in the Kitchen. "
        "Hey Jarvis, switch off the lights in the Office."
    )
    many = command_prompt([(f"Lamp {i}", "light") for i in range(100)], "hey jarvis")
    assert many is not None and len(many) <= PROMPT_CHARS and many.count("Hey Jarvis") == 2
    assert command_prompt([], "hey jarvis") is None
    assert command_prompt([("Kettle", "switch")], None) == "Turn on the Kettle."
