"""`homeplm timers | alarms | reminders | lists`: through the daemon when it runs, else on the
planner's store directly. Every command takes `--json`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from homeplm.config import Settings
from homeplm.core.paths import control_socket, state_dir
from homeplm.daemon.control_socket import call, daemon_running

COMMANDS = ("timers", "alarms", "reminders", "lists")


def add_parsers(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    helps = {
        "timers": "show, add or cancel timers",
        "alarms": "show, add or cancel alarms",
        "reminders": "show, add or cancel reminders",
        "lists": "show and change the household's lists",
    }
    for command in COMMANDS:
        parser = sub.add_parser(command, help=helps[command])
        ops = parser.add_subparsers(dest="op", metavar="OP")
        show = ops.add_parser("show", help="list them (the default)")
        if command == "lists":
            show.add_argument("name", nargs="?", help="one list (default: all)")
            add = ops.add_parser("add", help="add items to a list")
            add.add_argument("name")
            add.add_argument("items", nargs="+")
            remove = ops.add_parser("remove", help="take items off a list")
            remove.add_argument("name")
            remove.add_argument("items", nargs="+")
            clear = ops.add_parser("clear", help="empty a list")
            clear.add_argument("name")
        else:
            add = ops.add_parser("add", help="set one: a duration ('12 minutes') or a time ('7 am tomorrow')")
            add.add_argument("when", metavar="WHEN")
            add.add_argument("text", nargs="?", default="", help="what to say (reminders)")
            add.add_argument("--name", default="", help="a name (timers: 'rice')")
            remove = ops.add_parser("remove", help="cancel by id")
            remove.add_argument("ids", nargs="+", type=int, metavar="ID")
            ops.add_parser("clear", help="cancel all")
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        add_common(parser)
        for child in ops.choices.values():  # given after the operation too; absent, the above stands
            child.add_argument(
                "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
            )
            child.add_argument(
                "--config", metavar="PATH", default=argparse.SUPPRESS, help="YAML configuration"
            )
            child.add_argument(
                "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging"
            )


@contextmanager
def planner_caller(settings: Settings) -> Iterator[Callable[..., Any]]:
    socket = control_socket(settings)
    if daemon_running(socket):
        yield lambda op, **args: call(socket, "planner", op=op, args=args)
        return
    from homeplm.planner.ops import PlannerOps
    from homeplm.planner.service import STORE_NAME, house_zone
    from homeplm.planner.store import PlannerStore

    store = PlannerStore(state_dir(settings) / STORE_NAME)
    try:
        ops = PlannerOps(store, house_zone(settings.assistant.timezone))
        yield lambda op, **args: ops.call(op, args)
    finally:
        store.close()


def run_planner_command(settings: Settings, args: argparse.Namespace) -> int:
    op = args.op or "show"
    with planner_caller(settings) as invoke:
        if args.command == "lists":
            result = _lists(invoke, op, args)
        else:
            kind = args.command.rstrip("s")
            if op == "add":
                result = invoke("add", kind=kind, when_text=args.when, name=args.name, text=args.text)
            elif op == "remove":
                result = invoke("remove", kind=kind, ids=args.ids)
            else:
                result = invoke(op, kind=kind)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
    else:
        print(_human(args.command, op, result))
    return 0


def _lists(invoke: Callable[..., Any], op: str, args: argparse.Namespace) -> Any:
    if op == "add":
        return invoke("list_add", name=args.name, items=args.items)
    if op == "remove":
        return invoke("list_remove", name=args.name, items=args.items)
    if op == "clear":
        return invoke("list_clear", name=args.name)
    return invoke("lists", name=getattr(args, "name", None))


def _human(command: str, op: str, result: Any) -> str:
    if command == "lists":
        if op in ("add", "remove"):
            return f"{'added' if op == 'add' else 'removed'}: {', '.join(result) or '(nothing new)'}"
        if op == "clear":
            return f"removed {result} item(s)"
        return (
            "\n".join(f"{name}: {', '.join(items) or '(empty)'}" for name, items in result.items())
            or "(no lists)"
        )
    if op in ("remove", "clear"):
        return f"cancelled {result}"
    items = [result] if op == "add" else result
    if not items:
        return f"(no {command})"
    return "\n".join(_line(i) for i in items)


def _line(item: dict[str, Any]) -> str:
    label = item.get("name") or item.get("text") or ""
    due = item.get("due_local", "paused")
    repeat = f" repeats on {item['repeat']}" if item.get("repeat") else ""
    return (
        f"{item['id']:>4}  {item['kind']:<8} {due}  ({item['left_s']:.0f} s left){repeat}  {label}".rstrip()
    )


async def cmd_planner(args: argparse.Namespace) -> int:
    import asyncio

    from homeplm.cli.main import resolve_config_path
    from homeplm.config import load_settings
    from homeplm.core.logs import setup_logging

    settings = load_settings(resolve_config_path(args.config))
    setup_logging("DEBUG" if args.verbose else settings.logging.level)
    return await asyncio.to_thread(run_planner_command, settings, args)
