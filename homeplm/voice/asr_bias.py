"""Biasing speech recognition towards the house's own words (device and room names).

Whisper reads `initial_prompt` as text said just before the audio. The house's names said the way
the audio will sound — "Hey Jarvis, turn on the Kitchen Light. Hey Jarvis, close the Blinds." — make
"bedroom" more likely than "mad room", and teach it the wake phrase that the pre-roll carries, so
"Hey Jarvis" is written as such (and stripped) rather than "Change our abyss". A bare list of names
did neither and leaked into transcripts ("Living Room Light, Kettle, Bedroom"): measured with
`python -m homeplm.bench.spoken_house`, 20 % → 66 % of spoken commands done right at 15 dB (with
wake.threshold 0.35). Kept short: a long prompt costs decoding time.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_PROMPT_CHARS = 400


def bias_prompt(names: Iterable[str], areas: Iterable[str] = ()) -> str | None:
    """'Kitchen light, bedroom light, nursery fan. Kitchen, bedroom, nursery.' or None if empty."""
    unique_names = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
    unique_areas = list(dict.fromkeys(a.strip() for a in areas if a and a.strip()))
    parts = []
    if unique_names:
        parts.append(", ".join(unique_names) + ".")
    if unique_areas:
        parts.append(", ".join(unique_areas) + ".")
    prompt = " ".join(parts)
    if len(prompt) > MAX_PROMPT_CHARS:
        prompt = prompt[:MAX_PROMPT_CHARS].rsplit(",", 1)[0] + "."
    return prompt or None


# What one says to each kind of device, so the prompt sounds like the commands that will come.
_VERB = {
    "light": "turn on the", "switch": "turn on the", "fan": "turn on the", "cover": "close the",
    "lock": "lock the", "climate": "set the", "alarm_control_panel": "arm the", "scene": "turn on",
}  # fmt: skip


def command_prompt(devices: Iterable[tuple[str, str]], wake_phrase: str | None) -> str | None:
    """'Hey Jarvis, turn on the Kitchen Light. Hey Jarvis, close the Office Blind.' from (name,
    component) pairs, at most MAX_PROMPT_CHARS; None when there is nothing to say."""
    lead = f"{wake_phrase.title()}, " if wake_phrase else ""
    prompt = ""
    seen: set[str] = set()
    for name, component in sorted(devices):
        verb = _VERB.get(component)
        if verb is None or not name.strip() or name.lower() in seen:
            continue
        seen.add(name.lower())
        sentence = f"{lead}{verb} {name.strip()}."
        if len(prompt) + len(sentence) + 1 > MAX_PROMPT_CHARS:
            break
        prompt = f"{prompt} {sentence}".strip()
    return prompt or None
