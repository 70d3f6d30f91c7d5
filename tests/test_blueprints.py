"""The Home Assistant blueprints shipped in configs/homeassistant parse as Home Assistant reads them
(`!input` tags), name their inputs, and call only the services they are meant to."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.harness import REPO

FOLDER = REPO / "configs" / "homeassistant"


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!input", lambda loader, node: {"!input": loader.construct_scalar(node)})


def _load(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=_Loader)


def _services(node: object) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("service"), str):
            found.add(node["service"])
        for value in node.values():
            found |= _services(value)
    elif isinstance(node, list):
        for value in node:
            found |= _services(value)
    return found


def _inputs_used(node: object) -> set[str]:
    if isinstance(node, dict):
        if set(node) == {"!input"}:
            return {node["!input"]}
        return set().union(*(_inputs_used(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_inputs_used(v) for v in node)) if node else set()
    return set()


def test_every_blueprint_uses_only_the_inputs_it_declares() -> None:
    paths = sorted(FOLDER.glob("*.yaml"))
    assert {p.name for p in paths} >= {"homeplm_intents.yaml", "homeplm_lists.yaml"}
    for path in paths:
        blueprint = _load(path)
        declared = set(blueprint["blueprint"]["input"])
        assert _inputs_used({k: v for k, v in blueprint.items() if k != "blueprint"}) <= declared, path.name
        assert blueprint["blueprint"]["domain"] == "automation"


def test_the_list_mirror_only_reads_and_adds_to_do_items() -> None:
    blueprint = _load(FOLDER / "homeplm_lists.yaml")
    assert _services(blueprint["action"]) == {"todo.get_items", "todo.add_item"}
    assert blueprint["trigger"][0]["attribute"] == "items"
