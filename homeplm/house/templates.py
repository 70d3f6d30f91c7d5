"""Home Assistant value templates, rendered in jinja2's immutable sandbox.

Templates come from the network (discovery configs): they can read `value` and `value_json`, and
nothing else. A template that fails yields None (unknown state); the caller logs that once.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_TEMPLATE_CHARS = 2000
MAX_OUTPUT_CHARS = 255

# Strict: a missing key is an error (unknown state), not a silent empty string.
_ENV = ImmutableSandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


class TemplateFailed(ValueError):
    pass


@lru_cache(maxsize=512)
def _compile(source: str) -> Template:
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateFailed("template too long")
    return _ENV.from_string(source)


def decode_json(payload: str) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return None


def render(source: str, payload: str, **extra: Any) -> str:
    """`source` rendered with `value` (the payload text) and `value_json`; TemplateFailed on error."""
    try:
        out = _compile(source).render(value=payload, value_json=decode_json(payload), **extra)
    except TemplateFailed:
        raise
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as err:
        raise TemplateFailed(f"{type(err).__name__}: {err}") from err
    return out.strip()[:MAX_OUTPUT_CHARS]
