"""Read YAML into `Settings`: nodes (which keep their lines) are checked against the schema's
type hints, and every problem is reported as `wake.threshhold (line 12): unknown key; ...`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import functools
import logging
import math
import os
import types
import typing
from typing import Annotated, Any

import yaml

from homeplm.config.schema import Check, Choice, Range, Settings
from homeplm.core.errors import ConfigError

_LOGGER = logging.getLogger(__name__)

_TAG = "tag:yaml.org,2002:"
_NULL, _BOOL, _INT, _FLOAT, _STR = (f"{_TAG}{t}" for t in ("null", "bool", "int", "float", "str"))
_NOUNS = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
_FAILED: Any = object()


class _Invalid(Exception):
    """The value at this node is wrong; the caller reports it with the key and line."""


class _Reported(Exception):
    """Problems inside this value were already reported; it cannot be used."""


def load_settings(path: str | os.PathLike[str] | None) -> Settings:
    """Load settings from a YAML file; `None` gives the defaults. Raises `ConfigError`."""
    if path is None:
        return Settings()
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ConfigError(["file not found"], name) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"not UTF-8 text (byte {exc.start})"], name) from None
    except OSError as exc:
        raise ConfigError([f"cannot read the file: {exc.strerror or exc}"], name) from None
    settings = load_settings_text(text, name)
    _LOGGER.debug("Loaded configuration from %s", name)
    return settings


def load_settings_text(text: str, source: str = "<string>") -> Settings:
    """Load settings from YAML text; `source` names it in errors. Raises `ConfigError`."""
    root = _compose(text, source)
    if root is None or root.tag == _NULL:
        return Settings()
    problems: list[str] = []
    settings = _convert_or_report(root, Settings, "", problems)
    if problems:
        raise ConfigError(problems, source)
    return typing.cast(Settings, settings)


def settings_to_dict(settings: Any) -> dict[str, Any]:
    """Settings (or one section) as plain dicts, lists, strings and numbers."""
    return {f.name: _plain(getattr(settings, f.name)) for f in dataclasses.fields(settings)}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return settings_to_dict(value)
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value


def _compose(text: str, source: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        detail = ", ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        raise ConfigError([f"YAML syntax error{where}: {detail}"], source) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"YAML syntax error: {exc}"], source) from None


def _problem(key: str, node: yaml.Node, message: str) -> str:
    return f"{key or '(top level)'} (line {node.start_mark.line + 1}): {message}"


def _convert_or_report(node: yaml.Node, hint: Any, key: str, problems: list[str]) -> Any:
    """Like `_convert`, but a bad value is added to `problems` and `_FAILED` returned."""
    try:
        return _convert(node, hint, key, problems)
    except _Invalid as exc:
        problems.append(_problem(key, node, str(exc)))
    except _Reported:
        pass
    return _FAILED


def _convert(node: yaml.Node, hint: Any, key: str, problems: list[str]) -> Any:
    """Convert `node` to the type `hint`; raise `_Invalid` or `_Reported` if it cannot."""
    origin = typing.get_origin(hint)
    if origin is Annotated:
        base, *extras = typing.get_args(hint)
        value = _convert(node, base, key, problems)
        for extra in extras:
            _check_extra(value, extra)
        return value
    if origin in (typing.Union, types.UnionType):
        return _convert_union(node, typing.get_args(hint), key, problems)
    if origin is tuple:
        return _convert_tuple(node, typing.get_args(hint)[0], key, problems)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _convert_section(node, hint, key, problems)
    return _convert_scalar(node, hint)


def _convert_section(node: yaml.Node, cls: type, key: str, problems: list[str]) -> Any:
    if node.tag == _NULL:
        return cls()  # "llm:" with every key commented out: the defaults.
    if not isinstance(node, yaml.MappingNode):
        raise _Invalid(f"expected a mapping of keys, got {_describe(node)}")
    hints = _hints(cls)
    values: dict[str, Any] = {}
    seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        name = _field_name(key_node, key, hints, seen, problems)
        if name is not None:
            value = _convert_or_report(value_node, hints[name], _join(key, name), problems)
            if value is not _FAILED:
                values[name] = value
    return cls(**values)


def _field_name(
    node: yaml.Node, section: str, hints: dict[str, Any], seen: dict[str, int], problems: list[str]
) -> str | None:
    """The field a key names, or None once the reason it names none is reported."""
    if not isinstance(node, yaml.ScalarNode):
        problems.append(_problem(section, node, "expected a key name, got a collection"))
        return None
    name = str(node.value)
    if name in seen:
        message = f"duplicate key (first at line {seen[name]})"
    elif name not in hints:
        message = _unknown_key(name, list(hints))
    else:
        seen[name] = node.start_mark.line + 1
        return name
    problems.append(_problem(_join(section, name), node, message))
    return None


def _join(section: str, name: str) -> str:
    return f"{section}.{name}" if section else name


def _convert_tuple(node: yaml.Node, item: Any, key: str, problems: list[str]) -> tuple[Any, ...]:
    if isinstance(node, yaml.MappingNode):
        raise _Invalid(f"expected a list, got {_describe(node)}")
    if isinstance(node, yaml.ScalarNode):
        return (_convert(node, item, key, problems),)
    items = [
        _convert_or_report(child, item, f"{key}[{index}]", problems) for index, child in enumerate(node.value)
    ]
    if any(value is _FAILED for value in items):
        raise _Reported
    return tuple(items)


def _convert_union(node: yaml.Node, members: tuple[Any, ...], key: str, problems: list[str]) -> Any:
    if node.tag == _NULL and type(None) in members:
        return None
    candidates = [m for m in members if m is not type(None)]
    if len(candidates) == 1:
        return _convert(node, candidates[0], key, problems)
    for member in candidates:
        with contextlib.suppress(_Invalid):
            return _convert(node, member, key, problems)
    nouns = " or ".join(_NOUNS.get(m, getattr(m, "__name__", str(m))) for m in candidates)
    raise _Invalid(f"expected {nouns}, got {_describe(node)}")


def _convert_scalar(node: yaml.Node, hint: Any) -> Any:
    tag = node.tag if isinstance(node, yaml.ScalarNode) else None
    if (hint, tag) in ((bool, _BOOL), (str, _STR)):
        return _construct(node)
    if hint is int and tag in (_INT, _FLOAT):
        value = _construct(node)
        if isinstance(value, int) or (math.isfinite(value) and value.is_integer()):
            return int(value)
    if hint is float and tag in (_INT, _FLOAT):
        value = float(_construct(node))
        if not math.isnan(value):
            return value
    if hint not in _NOUNS:
        raise TypeError(f"the loader does not support the type {hint!r}")
    hint_text = " (put it in quotes to use it as text)" if hint is str and tag else ""
    raise _Invalid(f"expected {_NOUNS[hint]}, got {_describe(node)}{hint_text}")


def _construct(node: yaml.Node) -> Any:
    try:
        return yaml.constructor.SafeConstructor().construct_object(node)
    except (yaml.YAMLError, ValueError) as exc:
        raise _Invalid(f"cannot read the value {node.value!r}: {exc}") from None


def _check_extra(value: Any, extra: Any) -> None:
    if isinstance(extra, Range):
        if extra.lo is not None and value < extra.lo:
            raise _Invalid(f"{value!r} is below the minimum {extra.lo!r}")
        if extra.hi is not None and value > extra.hi:
            raise _Invalid(f"{value!r} is above the maximum {extra.hi!r}")
    elif isinstance(extra, Choice) and value not in extra.options:
        options = ", ".join(repr(o) for o in extra.options)
        close = [o for o in extra.options if o.lower() == str(value).lower()]
        close = close or difflib.get_close_matches(str(value), extra.options, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise _Invalid(f"{value!r} is not one of {options}{hint}")
    elif isinstance(extra, Check) and not extra.test(value):
        raise _Invalid(f"{value!r} is not {extra.expected}")


def _unknown_key(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"expected one of: {', '.join(known)}"
    return f"unknown key; {hint}"


def _describe(node: yaml.Node) -> str:
    if not isinstance(node, yaml.ScalarNode):
        return "a mapping" if isinstance(node, yaml.MappingNode) else "a list"
    return repr(node.value) if node.tag == _STR else str(node.value) or "null"


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in typing.get_type_hints(cls, include_extras=True).items() if k in names}
