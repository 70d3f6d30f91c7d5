"""Biasing speech recognition towards the house's own words (device and room names).

Whisper reads `initial_prompt` as text said just before the audio: a short list of the names makes
"bedroom" more likely than "mad room". Kept short: a long prompt costs decoding time and can leak
into the transcript.
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
