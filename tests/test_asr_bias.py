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
