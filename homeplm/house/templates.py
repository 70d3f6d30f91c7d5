"""Home Assistant value templates, rendered in a sandbox with a work budget (`homeplm.house.sandbox`).

Templates come from the network (discovery configs): they can read `value` and `value_json`, and
nothing else. A template that fails yields None (unknown state); the caller logs that once. One
over its budget (TemplateOverBudget) stops within about MAX_SECONDS, so it cannot stall the event
loop for long; the caller then stops rendering it altogether.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template

from homeplm.house import sandbox
from homeplm.mqtt.payloads import BadPayload, loads_json, preview

MAX_TEMPLATE_CHARS = 2000
MAX_OUTPUT_CHARS = 255
# A device's state is a few hundred bytes; a template never gets more than this to work on.
MAX_INPUT_CHARS = 65536

# Strict: a missing key is an error (unknown state), not a silent empty string.
_ENV = sandbox.BudgetedSandbox(autoescape=False, undefined=StrictUndefined)


class TemplateFailed(ValueError):
    """A device's template could not be rendered (bad, or over its budget)."""

    pass


class TemplateOverBudget(TemplateFailed):
    """The template did too much work; rendering it again would do the same."""


@dataclass(frozen=True, slots=True)
class _Compiled:
    template: Template | None
    error: str = ""
    over_budget: bool = False


@lru_cache(maxsize=512)
def _compile(source: str) -> _Compiled:
    """The template, or why not: a failure is cached too, so a bad template costs its parse once."""
    if len(source) > MAX_TEMPLATE_CHARS:
        return _Compiled(None, "template too long")
    try:
        with sandbox.budget():
            tree = _ENV.parse(source)
            sandbox.check_tree(tree)
            return _Compiled(_ENV.from_string(sandbox.meter(tree, _ENV)))
    except sandbox.OverBudget as err:
        return _Compiled(None, str(err), over_budget=True)
    except Exception as err:  # anything from the network that will not compile: parser, Python, depth
        return _Compiled(None, _reason(err))


def _reason(err: BaseException) -> str:
    return f"{type(err).__name__}: {preview(err)}"


def decode_json(payload: str) -> Any:
    """`value_json`: the payload as JSON, None when it is not (strict: see `loads_json`)."""
    try:
        return loads_json(payload)
    except BadPayload:
        return None


def render_command(source: str, value: Any, **variables: Any) -> str:
    """A command template rendered as Home Assistant does: `value` is the typed value (a position
    or brightness is a number) and the platform's own variables (`position`, `action`, `code`…)
    are there too. TemplateFailed or TemplateOverBudget as for `render`."""
    compiled = _compile(source)
    if compiled.template is None:
        raise (TemplateOverBudget if compiled.over_budget else TemplateFailed)(compiled.error)
    try:
        with sandbox.budget():
            out = compiled.template.render(value=value, **variables)
    except sandbox.OverBudget as err:
        raise TemplateOverBudget(str(err)) from None
    except Exception as err:
        raise TemplateFailed(_reason(err)) from None
    return out.strip()[:MAX_OUTPUT_CHARS]


def render(source: str, payload: str, **extra: Any) -> str:
    """`source` rendered with `value` (the payload text) and `value_json`; TemplateFailed on error,
    TemplateOverBudget when it would take too much time or memory."""
    compiled = _compile(source)
    if compiled.template is None:
        raise (TemplateOverBudget if compiled.over_budget else TemplateFailed)(compiled.error)
    if len(payload) > MAX_INPUT_CHARS:
        raise TemplateFailed(f"payload over {MAX_INPUT_CHARS} characters")
    try:
        with sandbox.budget():
            out = compiled.template.render(value=payload, value_json=decode_json(payload), **extra)
    except sandbox.OverBudget as err:
        raise TemplateOverBudget(str(err)) from None
    except Exception as err:  # whatever the template's own code raised: its state is unknown
        raise TemplateFailed(_reason(err)) from None
    return out.strip()[:MAX_OUTPUT_CHARS]
