"""`homeplm memory …` and `homeplm ask --explain`, on the store directly and through the daemon."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.harness import StartDaemon, homeplm_cli

pytestmark = pytest.mark.real


def memory(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return homeplm_cli("memory", *args, state_dir=state, timeout=120)


def test_memory_commands_without_a_daemon(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert memory(state, "remember", "The bins go out on Monday.", "--speaker", "Anna").returncode == 0
    assert memory(state, "remember", "The plumber is called Marco.").returncode == 0
    listed = json.loads(memory(state, "list", "--json").stdout)
    assert {i["text"] for i in listed} == {"The bins go out on Monday.", "The plumber is called Marco."}
    found = json.loads(memory(state, "search", "when is rubbish collected", "--json").stdout)
    assert found[0]["text"] == "The bins go out on Monday."
    shown = memory(state, "show", listed[0]["id"][:8])
    assert shown.returncode == 0 and listed[0]["text"] in shown.stdout

    backup, dataset = tmp_path / "backup.jsonl", tmp_path / "dataset.jsonl"
    assert homeplm_cli("lists", "add", "shopping", "butter", state_dir=state).returncode == 0
    assert homeplm_cli("timers", "add", "2 hours", "--name", "bread", state_dir=state).returncode == 0
    exported = memory(state, "export", str(backup))
    assert exported.returncode == 0 and "backup.planner.json" in exported.stdout
    planner = json.loads((tmp_path / "backup.planner.json").read_text())  # with the memory: the planner
    assert planner["lists"] == {"shopping": ["butter"]} and planner["items"][0]["name"] == "bread"
    assert memory(state, "export", str(dataset), "--dataset").returncode == 0
    assert all("messages" in json.loads(line) for line in dataset.read_text().splitlines())
    forgot = memory(state, "forget", "--about", "bins")
    assert forgot.returncode == 0 and "Monday" in forgot.stdout
    assert "wipe deletes" in memory(state, "wipe").stderr  # asks for --yes
    wiped = memory(state, "wipe", "--yes")
    assert wiped.returncode == 0 and "2 timer(s), alarm(s), reminder(s) and list item(s)" in wiped.stdout
    assert json.loads(homeplm_cli("lists", "--json", state_dir=state).stdout) == {}
    assert "imported 2" in memory(state, "import", str(backup)).stdout
    assert "imported 0" in memory(state, "import", str(backup)).stdout  # idempotent
    assert sorted(json.loads(line)["id"] for line in backup.read_text().splitlines()) == sorted(
        i["id"] for i in json.loads(memory(state, "list", "--json").stdout)
    )


def test_cli_goes_through_the_running_daemon(start_daemon: StartDaemon) -> None:
    daemon = start_daemon()
    state = daemon.state_dir
    daemon.wait_for("control socket")
    remembered = memory(state, "remember", "The garage code is 4711.", "--speaker", "Ben")
    assert remembered.returncode == 0, remembered.stderr  # the store is the daemon's: no lock error
    asked = homeplm_cli("ask", "--explain", "What is the garage code?", state_dir=state, timeout=120)
    assert asked.returncode == 0, asked.stderr
    # A household question: the told fact said back, from the daemon's memory (never the model).
    assert "route:    household" in asked.stdout and "Ben told me: The garage code is 4711." in asked.stdout
    assert "timings:" in asked.stdout
    time.sleep(0.5)  # the exchange is written in the background
    kinds = {i["kind"] for i in json.loads(memory(state, "list", "--json").stdout)}
    assert kinds == {"fact", "exchange"}
    stats = json.loads(memory(state, "stats", "--json").stdout)
    assert stats["facts"] == 1 and stats["private"] is False
    assert daemon.stop() == 0
    assert not (state / "control.sock").exists()
