"""`homeplm doctor`: small checks of the installation, each ok / warn / fail with a hint.

The only network connections made are TCP connects (2 s timeout) to the configured MQTT broker and
the configured expert host; nothing is sent over them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from homeplm.cli.doctor_models import (
    FAIL,
    OK,
    WARN,
    Check,
    Progress,
    _human,
    _quiet,
    check_models,
)
from homeplm.config.schema import Settings
from homeplm.core.errors import ConfigError, HomeplmError
from homeplm.mqtt.ha_entities import discovery_topic, entities, topic_problem, validate_discovery

CONNECT_TIMEOUT_S = 2.0
MIN_FREE_BYTES = 1 << 30

# -- configuration ----------------------------------------------------------------------------------


def check_config(path: Path | None) -> tuple[Check, Settings | None]:
    from homeplm.config import load_settings

    where = str(path) if path else "built-in defaults (no configuration file)"
    try:
        settings = load_settings(path)
    except ConfigError as err:
        return (
            Check("config", FAIL, err.message, "fix the keys listed; configs/homeplm.yaml documents each"),
            None,
        )
    return Check("config", OK, f"{where}: valid"), settings


# -- audio ------------------------------------------------------------------------------------------


def check_audio(settings: Settings) -> list[Check]:
    try:
        from homeplm.backends.sounddevice_audio import find_device, list_devices
    except OSError as err:  # sounddevice raises OSError when libportaudio is missing
        return [Check("audio", FAIL, f"PortAudio is not available: {err}", "sudo apt install libportaudio2")]
    try:
        devices = list_devices()
    except HomeplmError as err:
        return [Check("audio", FAIL, err.message, "sudo apt install libportaudio2; check the 'audio' group")]
    checks = []
    pairs: tuple[tuple[Literal["input", "output"], str | int], ...] = (
        ("input", settings.input.device),
        ("output", settings.output.device),
    )
    for kind, configured in pairs:
        usable = [d for d in devices if d[f"max_{kind}_channels"] > 0]
        name = f"audio {kind}"
        if not usable:
            checks.append(
                Check(
                    name,
                    FAIL,
                    f"no {kind} devices found",
                    "plug in the device; add the user to the 'audio' group; `homeplm devices` lists them",
                )
            )
            continue
        try:
            index = find_device(configured, kind)
        except HomeplmError as err:
            checks.append(Check(name, FAIL, err.message, f"set {kind}.device to one of the devices listed"))
            continue
        if index is None:
            default = next(
                (d for d in devices if d[f"is_default_{'in' if kind == 'input' else 'out'}"]), None
            )
            what = f"default: {default['name']}" if default else "PortAudio's default"
        else:
            what = f"{index}: {devices[index]['name']}"
        checks.append(Check(name, OK, f"{kind}.device {configured!r} → {what}"))
    return checks


# -- network: only the configured hosts ---------------------------------------------------------------


def _connect(host: str, port: int) -> str | None:
    """None if a TCP connection opens, else why not."""
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            return None
    except OSError as err:
        return err.strerror or str(err) or type(err).__name__


def check_broker(settings: Settings) -> Check:
    mqtt = settings.mqtt
    if not mqtt.host:
        return Check("mqtt broker", OK, "not configured (mqtt.host: null)")
    where = f"{mqtt.host}:{mqtt.port}"
    if (why := _connect(mqtt.host, mqtt.port)) is not None:
        return Check(
            "mqtt broker",
            FAIL,
            f"cannot connect to {where}: {why}",
            "is the broker running (Home Assistant's Mosquitto add-on)? check mqtt.host, mqtt.port "
            "and the firewall",
        )
    return Check("mqtt broker", OK, f"{where} accepts connections")


def check_discovery(settings: Settings) -> Check:
    """homeplm's own Home Assistant entities as its configuration builds them: a topic prefix or node
    id with a wildcard or an empty level would make Home Assistant reject every entity silently."""
    if not settings.mqtt.host:
        return Check("ha discovery", OK, "not configured (mqtt.host: null)")
    messages = entities(settings.mqtt)
    problems = []
    for component, key, payload in messages:
        topic = discovery_topic(settings.mqtt, component, key)
        problems += [f"{topic}: {p}" for p in validate_discovery(component, payload)]
        if (why := topic_problem(topic)) is not None:
            problems.append(f"{topic} {why}")
    if problems:
        hint = "check mqtt.topic_prefix, mqtt.node_id and mqtt.discovery_prefix (no +, # or empty levels)"
        return Check("ha discovery", FAIL, f"{len(problems)} problem(s), first: {problems[0]}", hint)
    return Check("ha discovery", OK, f"{len(messages)} entities as Home Assistant expects them")


def check_planner(settings: Settings, state: Path) -> Check:
    """The planner's store opens and is sound, and alarms know the house's time zone."""
    if not settings.planner.enabled:
        return Check("planner", OK, "switched off (planner.enabled: false)")
    import sqlite3

    from homeplm.planner.service import STORE_NAME, house_zone

    try:
        zone = str(house_zone(settings.assistant.timezone))
    except ConfigError as err:
        return Check(
            "planner", FAIL, err.problems[0], "use a name like Europe/Berlin (timedatectl list-timezones)"
        )
    path = state / STORE_NAME
    counts = ""
    if path.exists():
        try:
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
                if (verdict := db.execute("PRAGMA quick_check").fetchone()[0]) != "ok":
                    return Check(
                        "planner",
                        FAIL,
                        f"{path} is damaged: {verdict}",
                        "move it aside; homeplm starts a new one",
                    )
                rows = db.execute("SELECT kind, count(*) FROM items GROUP BY kind").fetchall()
                counts = ", " + ", ".join(f"{n} {k}(s)" for k, n in rows) if rows else ", nothing pending"
        except sqlite3.Error as err:
            return Check("planner", FAIL, f"cannot read {path}: {err}", "check its owner and permissions")
    if zone in ("UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu") and not settings.assistant.timezone:
        return Check(
            "planner",
            WARN,
            f"time zone UTC{counts}",
            "set assistant.timezone (e.g. Europe/Berlin) if the house is not on UTC",
        )
    return Check("planner", OK, f"time zone {zone}{counts}")


def check_expert(settings: Settings) -> Check:
    url = settings.expert.url
    if not url:
        return Check("expert", OK, "not configured (expert.url: null)")
    parts = urlsplit(url)
    if not parts.hostname:
        return Check("expert", FAIL, f"{url!r} has no host", "give a URL like http://192.168.1.20:8080/v1")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if (why := _connect(parts.hostname, port)) is not None:
        return Check(
            "expert",
            FAIL,
            f"cannot connect to {parts.hostname}:{port}: {why}",
            "is the expert's server running? (the local model answers meanwhile)",
        )
    return Check("expert", OK, f"{parts.hostname}:{port} accepts connections")


# -- the state directory, the daemon, the memory lock -----------------------------------------------


def check_disk(state: Path) -> Check:
    try:
        free = shutil.disk_usage(state).free
    except OSError as err:
        return Check("disk", FAIL, f"cannot stat {state}: {err}", "create the state directory")
    if free < MIN_FREE_BYTES:
        return Check(
            "disk", WARN, f"{_human(free)} free at {state}", "free some space: the memory grows over time"
        )
    return Check("disk", OK, f"{_human(free)} free at {state}")


def check_state_writable(state: Path) -> Check:
    try:
        with tempfile.NamedTemporaryFile(dir=state, prefix=".doctor-"):
            pass
    except OSError as err:
        return Check(
            "state dir",
            FAIL,
            f"{state} is not writable: {err.strerror or err}",
            "chown it to the user the daemon runs as (systemd's StateDirectory= does this)",
        )
    return Check("state dir", OK, f"{state} is writable")


def check_daemon(socket_path: Path) -> tuple[Check, bool]:
    from homeplm.daemon.control_socket import daemon_running

    if daemon_running(socket_path):
        return Check("daemon", OK, f"running (control socket {socket_path})"), True
    return (
        Check(
            "daemon",
            WARN,
            f"not running (no answer on {socket_path})",
            "sudo systemctl start homeplm (or `homeplm run`); `homeplm logs` shows why it stopped",
        ),
        False,
    )


def check_memory_lock(settings: Settings, state: Path, daemon_up: bool) -> Check:
    if not settings.memory.enabled:
        return Check("memory lock", OK, "memory is off (memory.enabled: false)")
    path = state / "memory.lock"
    if not path.exists():
        return Check("memory lock", OK, "free (the memory was never opened here)")
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as err:
        return Check(
            "memory lock", FAIL, f"cannot open {path}: {err.strerror}", "check the state dir's owner"
        )
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # a test only: released at once
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return Check("memory lock", OK, "free")
    finally:
        os.close(fd)
    if daemon_up:
        return Check("memory lock", OK, f"held by the daemon (pid {holder})")
    return Check(
        "memory lock",
        FAIL,
        f"held by pid {holder}, but no daemon answers",
        f"a stuck homeplm process? `ps -p {holder} -o pid,args`, then stop it",
    )


# -- the machine ------------------------------------------------------------------------------------

_X86_FLAGS: tuple[str, ...] = ("avx2", "fma", "f16c")
_ARM_FLAGS: tuple[str, ...] = ("asimd",)


def cpu_flags(cpuinfo: str) -> set[str]:
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            flags.update(value.split())
    return flags


def check_cpu(cpuinfo: str | None = None, machine: str | None = None) -> Check:
    machine = machine or platform.machine()
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return Check("cpu", WARN, f"{machine}: cannot read /proc/cpuinfo", "")
    flags = cpu_flags(cpuinfo)
    if machine.lower() in ("x86_64", "amd64", "i686", "i386"):
        wanted: tuple[str, ...] = _X86_FLAGS
    elif machine.lower().startswith(("aarch64", "arm")):
        wanted = _ARM_FLAGS if "asimd" in flags or "neon" not in flags else ("neon",)
    else:
        return Check("cpu", OK, f"{machine}, {os.cpu_count()} cores (no feature check for this CPU)")
    missing = [f for f in wanted if f not in flags]
    detail = f"{machine}, {os.cpu_count()} cores, " + ", ".join(
        f"{f} {'yes' if f not in missing else 'NO'}" for f in wanted
    )
    if missing:
        return Check(
            "cpu",
            WARN,
            detail,
            "llama.cpp and CTranslate2 run slower without these: expect longer answers and recognition",
        )
    return Check("cpu", OK, detail)


def check_python(version: tuple[int, int, int] | None = None) -> Check:
    version = version or (sys.version_info.major, sys.version_info.minor, sys.version_info.micro)
    text = ".".join(map(str, version))
    if version[:2] < (3, 11):
        return Check("python", FAIL, f"Python {text}", "homeplm needs Python 3.11 or newer")
    return Check("python", OK, f"Python {text} ({sys.executable})")


# -- all of them ------------------------------------------------------------------------------------


def _read_cpu_flags() -> set[str]:
    try:
        return cpu_flags(Path("/proc/cpuinfo").read_text())
    except OSError:
        return set()


def run_checks(
    config_path: Path | None, checksums: bool = True, progress: Progress = _quiet, run_models: bool = True
) -> list[Check]:
    from homeplm.core.paths import control_socket, state_dir

    config, settings = check_config(config_path)
    checks = [config]
    if settings is None:
        return [*checks, check_python(), check_cpu()]
    try:
        state = state_dir(settings)
    except OSError as err:
        state = state_dir(settings, create=False)
        checks.append(Check("state dir", FAIL, f"cannot create {state}: {err.strerror}", "check its parent"))
    cache_dir = state if os.access(state, os.W_OK) else None
    checks += check_models(settings, checksums, progress, cache_dir)
    if run_models:
        from homeplm.cli.doctor_native import ROLES, check_native

        present = tuple(r for r in ROLES if any(c.name == f"model {r}" and c.status != FAIL for c in checks))
        progress("running each model once in a child process")
        checks += check_native(config_path, _read_cpu_flags(), present)
    checks += check_audio(settings)
    checks += [check_broker(settings), check_discovery(settings), check_expert(settings)]
    if state.is_dir():
        checks += [check_disk(state), check_state_writable(state)]
    checks.append(check_planner(settings, state))
    daemon, daemon_up = check_daemon(control_socket(settings))
    checks += [daemon, check_cpu(), check_python(), check_memory_lock(settings, state, daemon_up)]
    return checks


def failed(checks: Iterable[Check]) -> bool:
    return any(c.status == FAIL for c in checks)


_MARK = {OK: "ok  ", WARN: "WARN", FAIL: "FAIL"}


def render(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = []
    for check in checks:
        lines.append(f"{_MARK[check.status]}  {check.name:<{width}}  {check.detail}")
        if check.hint and check.status != OK:
            lines.append(f"      {'':<{width}}  → {check.hint}")
    fails = sum(c.status == FAIL for c in checks)
    warns = sum(c.status == WARN for c in checks)
    lines.append(f"{len(checks)} checks: {fails} failed, {warns} warnings")
    return "\n".join(lines)
