"""`homeplm memory …`: through the daemon when it runs, else on the store directly."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from homeplm.brain.llm_route import build_system_prompt
from homeplm.config import Settings
from homeplm.core.errors import HomeplmError
from homeplm.core.paths import control_socket
from homeplm.daemon.control_socket import call, daemon_running
from homeplm.memory import jsonl


def add_parser(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> argparse.ArgumentParser:
    memory = sub.add_parser("memory", help="see and control what the household memory keeps")
    ops = memory.add_subparsers(dest="op", required=True, metavar="OP")
    listing = ops.add_parser("list", help="list remembered items, newest first")
    listing.add_argument("--kind", choices=("fact", "exchange"))
    listing.add_argument("--limit", type=int, default=50)
    search = ops.add_parser("search", help="find items similar to a text")
    search.add_argument("query")
    search.add_argument("--limit", type=int, default=10)
    show = ops.add_parser("show", help="show one item in full")
    show.add_argument("item_id", metavar="ID")
    forget = ops.add_parser("forget", help="delete items by id, by topic, or the last exchange")
    forget.add_argument("ids", nargs="*", metavar="ID")
    forget.add_argument("--about", metavar="TOPIC")
    forget.add_argument("--last", action="store_true", help="the last question and answer")
    remember = ops.add_parser("remember", help="tell it a fact")
    remember.add_argument("text")
    remember.add_argument("--speaker")
    export = ops.add_parser("export", help="write every item as JSON Lines (import reads it back)")
    export.add_argument("path")
    export.add_argument("--dataset", action="store_true", help="chat-format JSONL for fine-tuning instead")
    importing = ops.add_parser("import", help="add the items of an export (existing ids are skipped)")
    importing.add_argument("path")
    wipe = ops.add_parser("wipe", help="delete everything")
    wipe.add_argument("--yes", action="store_true", help="really")
    ops.add_parser("stats", help="how much is kept, and whether private mode is on")
    for child in ops.choices.values():
        child.add_argument("--json", action="store_true", help="machine-readable output")
        add_common(child)
    return memory


@contextmanager
def memory_caller(settings: Settings) -> Iterator[Any]:
    """A function (op, **args) → result: the daemon's if it runs, else a store opened here."""
    socket = control_socket(settings)
    if daemon_running(socket):
        yield lambda op, **args: call(socket, "memory", op=op, args=args)
        return
    from homeplm.memory.ops import MemoryOps
    from homeplm.memory.service import open_memory

    with open_memory(settings) as memory:
        ops = MemoryOps(memory)
        yield lambda op, **args: ops.call(op, args)


def _args_for(args: argparse.Namespace) -> dict[str, Any]:
    if args.op == "list":
        return {"kind": args.kind, "limit": args.limit}
    if args.op == "search":
        return {"query": args.query, "limit": args.limit}
    if args.op == "show":
        return {"item_id": args.item_id}
    if args.op == "forget":
        if not (args.ids or args.about or args.last):
            raise HomeplmError("say what to forget: IDs, --about TOPIC or --last", code="usage")
        return {"ids": args.ids, "about": args.about, "last": args.last}
    if args.op == "remember":
        return {"text": args.text, "speaker": args.speaker}
    if args.op == "import":
        return {"items": [jsonl.item_to_json(item) for item in jsonl.import_items(args.path)]}
    if args.op == "wipe" and not args.yes:
        raise HomeplmError("wipe deletes every memory: add --yes if you mean it", code="usage")
    return {}


def run_memory_command(settings: Settings, args: argparse.Namespace) -> int:
    op = "export" if args.op == "export" else args.op
    with memory_caller(settings) as invoke:
        result = invoke(op, **_args_for(args))
    if args.op == "export":
        items = [jsonl.item_from_json(data) for data in result]
        if args.dataset:
            count = jsonl.export_dataset(items, args.path, build_system_prompt(settings.assistant))
        else:
            count = jsonl.export_items(items, args.path)
        result = {"path": str(Path(args.path)), "lines": count, **_planner_too(settings, "export", args.path)}
    elif args.op == "wipe":
        result = {
            "memory": result,
            **_planner_too(settings, "wipe", args.path if hasattr(args, "path") else ""),
        }
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
    else:
        print(_human(args.op, result))
    return 0


def _planner_too(settings: Settings, op: str, path: str) -> dict[str, Any]:
    """Timers, alarms, reminders and lists go with the memory: exported beside it, wiped with it."""
    if not settings.planner.enabled:
        return {}
    from homeplm.cli.planner import planner_caller

    with planner_caller(settings) as invoke:
        result = invoke(op)
    if op == "wipe":
        return {"planner": result}
    target = Path(path).with_suffix(".planner.json")
    target.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return {"planner_path": str(target)}


def _when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def _line(item: dict[str, Any]) -> str:
    who = f" ({item['speaker']})" if item.get("speaker") else ""
    text = item["text"] if item["kind"] == "fact" else f"Q: {item.get('question')} A: {item.get('answer')}"
    score = f" [{item['similarity']:.2f}]" if "similarity" in item else ""
    return f"{item['id'][:8]}  {_when(item['created_at'])}  {item['kind']:<8}{score} {text}{who}"


def _human(op: str, result: Any) -> str:
    if op in ("list", "search", "forget"):
        lines = [_line(item) for item in result]
        prefix = "forgot:\n" if op == "forget" else ""
        return prefix + ("\n".join(lines) if lines else "(nothing)")
    if op == "show":
        return "\n".join(f"{key}: {value}" for key, value in result.items() if value not in (None, {}, ""))
    if op == "remember":
        return "remembered" if result else "not stored (memory off or private mode)"
    if op == "import":
        return f"imported {result} new item(s)"
    if op == "wipe":
        planner = (
            f", and {result['planner']} timer(s), alarm(s), reminder(s) and list item(s)"
            if "planner" in result
            else ""
        )
        return f"wiped {result['memory']} item(s){planner}"
    if op == "export":
        planner = (
            f" (timers, alarms, reminders and lists: {result['planner_path']})"
            if "planner_path" in result
            else ""
        )
        return f"wrote {result['lines']} line(s) to {result['path']}{planner}"
    return "\n".join(f"{key}: {value}" for key, value in result.items())
