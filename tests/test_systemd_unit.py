"""The systemd unit (its directives, `systemd-analyze verify` and its security score) and the
install/uninstall scripts (a dry run, and a real run into a throwaway tree)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.harness import REPO

UNIT = REPO / "systemd" / "homeplm.service"
INSTALL = REPO / "scripts" / "install.sh"
UNINSTALL = REPO / "scripts" / "uninstall.sh"
MAX_EXPOSURE = 3.0  # systemd-analyze security: "OK" or better

needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="a real install run needs root (chown)")


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """Sections → key → every value in order (systemd keys repeat; configparser cannot read them)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"assignment outside a section: {raw!r}"
        key, sep, value = line.partition("=")
        assert sep, f"not an assignment: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


@pytest.fixture(scope="module")
def service() -> dict[str, list[str]]:
    return parse_unit(UNIT.read_text())["Service"]


def one(service: dict[str, list[str]], key: str) -> str:
    assert key in service, f"{key}= missing"
    return service[key][-1]


def test_sections() -> None:
    unit = parse_unit(UNIT.read_text())
    assert set(unit) == {"Unit", "Service", "Install"}
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    assert "network-online.target" in unit["Unit"]["After"][0]


def test_notify_watchdog_and_restart(service: dict[str, list[str]]) -> None:
    assert one(service, "Type") == "notify"
    assert one(service, "NotifyAccess") == "main"
    assert one(service, "WatchdogSec") == "30"
    assert one(service, "Restart") == "on-failure"
    assert one(service, "RestartSec") == "5"
    assert one(service, "ExecReload") == "/bin/kill -HUP $MAINPID"
    assert one(service, "ExecStart") == (
        "/opt/homeplm/.venv/bin/homeplm run --config /etc/homeplm/homeplm.yaml"
    )


def test_identity_and_directories(service: dict[str, list[str]]) -> None:
    assert one(service, "User") == "homeplm"
    assert one(service, "Group") == "homeplm"
    assert one(service, "SupplementaryGroups") == "audio"
    assert one(service, "EnvironmentFile") == "-/etc/homeplm/homeplm.env"
    for key in ("StateDirectory", "CacheDirectory", "ConfigurationDirectory", "RuntimeDirectory"):
        assert one(service, key) == "homeplm"
    assert one(service, "StateDirectoryMode") == "0700"
    assert one(service, "RuntimeDirectoryMode") == "0750"
    assert one(service, "UMask") == "0077"


def test_hardening(service: dict[str, list[str]]) -> None:
    expected = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "DevicePolicy": "closed",
        "DeviceAllow": "char-alsa rw",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes",
        "ProtectClock": "yes",
        "ProtectHostname": "yes",
        "ProtectProc": "invisible",
        "RestrictNamespaces": "yes",
        "RestrictRealtime": "yes",
        "RestrictSUIDSGID": "yes",
        "LockPersonality": "yes",
        "SystemCallArchitectures": "native",
        "SystemCallErrorNumber": "EPERM",
        "CapabilityBoundingSet": "",
        "AmbientCapabilities": "",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    }
    for key, value in expected.items():
        assert one(service, key) == value, key
    assert service["SystemCallFilter"] == ["@system-service", "~@privileged @resources"]
    # Left out on purpose, each tried: audio needs /dev/snd; CTranslate2's oneDNN JITs; without
    # /proc/cpuinfo onnxruntime's wake word model crashes.
    assert one(service, "PrivateDevices") == "no"
    assert one(service, "MemoryDenyWriteExecute") == "no"
    assert "ProcSubset" not in service


def test_egress_only_to_loopback_and_the_home_network(service: dict[str, list[str]]) -> None:
    assert service["IPAddressDeny"] == ["any"]
    allowed = " ".join(service["IPAddressAllow"]).split()
    assert set(allowed) == {
        "localhost",
        "link-local",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fc00::/7",
    }


def stubbed_unit(tmp_path: Path, text: str | None = None) -> Path:
    """A copy of the unit whose ExecStart exists here (verify checks that the binary exists)."""
    text = UNIT.read_text() if text is None else text
    stub = re.sub(r"(?m)^ExecStart=\S+", "ExecStart=/bin/true", text)
    path = tmp_path / "homeplm.service"
    path.write_text(stub)
    return path


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", *args], capture_output=True, text=True, timeout=120, check=False
    )


@needs_analyze
def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    result = analyze("verify", str(stubbed_unit(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert "homeplm.service" not in result.stdout + result.stderr, result.stderr


def exposure(unit: Path) -> float:
    result = analyze("security", "--offline=yes", "--no-pager", str(unit))
    if "--offline" in result.stderr and result.returncode != 0:
        pytest.skip("this systemd-analyze has no --offline")
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", result.stdout)
    assert match, result.stdout[-2000:] + result.stderr
    return float(match.group(1))


@needs_analyze
def test_security_exposure_is_ok_or_better(tmp_path: Path) -> None:
    score = exposure(stubbed_unit(tmp_path))
    print(f"systemd-analyze security: {score}")
    assert score <= MAX_EXPOSURE


def run_script(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def tree(tmp_path: Path) -> dict[str, Path]:
    return {name: tmp_path / name for name in ("opt", "etc", "units", "state", "cache")}


def install_args(paths: dict[str, Path]) -> list[str]:
    return [
        "--prefix",
        str(paths["opt"]),
        "--config-dir",
        str(paths["etc"]),
        "--unit-dir",
        str(paths["units"]),
        "--no-user",
        "--no-systemd",
        "--no-setup",
    ]


def uninstall_args(paths: dict[str, Path]) -> list[str]:
    return [
        "--prefix",
        str(paths["opt"]),
        "--config-dir",
        str(paths["etc"]),
        "--unit-dir",
        str(paths["units"]),
        "--state-dir",
        str(paths["state"]),
        "--cache-dir",
        str(paths["cache"]),
        "--no-systemd",
        "--no-user",
    ]


def test_dry_runs_change_nothing(tmp_path: Path) -> None:
    paths = tree(tmp_path)
    result = run_script(INSTALL, *install_args(paths), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "[dry-run] install -m 0644" in result.stdout  # the default config, as it is absent
    assert f"ExecStart={paths['opt']}/.venv/bin/homeplm run --config {paths['etc']}/homeplm.yaml" in (
        result.stdout
    )
    assert "nothing was changed" in result.stdout
    result = run_script(UNINSTALL, *uninstall_args(paths), "--purge", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "nothing was changed" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_uninstall_purge_wants_confirmation(tmp_path: Path) -> None:
    paths = tree(tmp_path)
    paths["state"].mkdir()
    result = run_script(UNINSTALL, *uninstall_args(paths), "--purge")
    assert result.returncode != 0
    assert "--yes" in result.stderr
    assert paths["state"].exists()


@needs_root
def test_install_and_uninstall_into_a_throwaway_tree(tmp_path: Path) -> None:
    paths = tree(tmp_path)
    result = run_script(INSTALL, *install_args(paths))
    assert result.returncode == 0, result.stdout + result.stderr
    opt, etc, units = paths["opt"], paths["etc"], paths["units"]
    assert (opt / "homeplm" / "daemon" / "sdnotify.py").is_file()
    assert not (opt / ".venv").exists() and not (opt / ".git").exists()
    assert (etc / "homeplm.yaml").read_text() == (REPO / "configs" / "homeplm.yaml").read_text()
    assert (etc / "homeplm.env").stat().st_mode & 0o777 == 0o640
    unit = parse_unit((units / "homeplm.service").read_text())["Service"]
    assert unit["ExecStart"] == [f"{opt}/.venv/bin/homeplm run --config {etc}/homeplm.yaml"]
    assert not (units / "homeplm.service.d" / "network.conf").exists()  # no hosts configured

    # The household's edits survive a re-install; configured hosts narrow the egress.
    config = (etc / "homeplm.yaml").read_text()
    config = config.replace("  host: null", "  host: 192.168.1.5", 1)
    config = config.replace("  url: null", '  url: "http://10.1.2.3:8080/v1"  # the big box', 1)
    (etc / "homeplm.yaml").write_text(config)
    result = run_script(INSTALL, *install_args(paths))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (etc / "homeplm.yaml").read_text() == config
    dropin = units / "homeplm.service.d" / "network.conf"
    network = parse_unit(dropin.read_text())["Service"]
    assert network["IPAddressAllow"] == ["", "localhost", "10.1.2.3 192.168.1.5"]
    if shutil.which("systemd-analyze"):
        stub_dir = tmp_path / "verify"
        stub_dir.mkdir()
        stub = stubbed_unit(stub_dir, (units / "homeplm.service").read_text())
        (stub_dir / "homeplm.service.d").mkdir()
        shutil.copy(dropin, stub_dir / "homeplm.service.d" / "network.conf")
        verified = analyze("verify", str(stub))
        assert verified.returncode == 0, verified.stderr
        assert exposure(stub) <= MAX_EXPOSURE

    # A satellite's host is let in too; a Wyoming server open to the network keeps the private ranges.
    rooms = "satellites:\n  - name: kitchen\n    uri: tcp://192.168.1.31:10700\n    area: Kitchen\n"
    (etc / "homeplm.yaml").write_text(config.replace("satellites: []\n", rooms))
    result = run_script(INSTALL, *install_args(paths))
    assert result.returncode == 0, result.stdout + result.stderr
    network = parse_unit(dropin.read_text())["Service"]
    assert network["IPAddressAllow"] == ["", "localhost", "10.1.2.3 192.168.1.31 192.168.1.5"]
    (etc / "homeplm.yaml").write_text(
        config.replace("wyoming:\n  enabled: false", "wyoming:\n  enabled: true")
    )
    result = run_script(INSTALL, *install_args(paths))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Home Assistant connects in from the home network" in result.stdout and not dropin.exists()

    # A name that does not resolve keeps the private ranges (no drop-in).
    (etc / "homeplm.yaml").write_text(config.replace("192.168.1.5", "broker.homeplm.invalid"))
    result = run_script(INSTALL, *install_args(paths))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cannot resolve broker.homeplm.invalid" in result.stdout
    assert not dropin.exists()

    # Uninstall keeps the memory and the configuration; --purge --yes removes them.
    paths["state"].mkdir()
    (paths["state"] / "memory.sqlite3").write_text("the household's memory")
    result = run_script(UNINSTALL, *uninstall_args(paths))
    assert result.returncode == 0, result.stdout + result.stderr
    assert not opt.exists() and not (units / "homeplm.service").exists()
    assert (paths["state"] / "memory.sqlite3").exists() and (etc / "homeplm.yaml").exists()
    result = run_script(UNINSTALL, *uninstall_args(paths), "--purge", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not paths["state"].exists() and not etc.exists()


def test_uninstall_leaves_a_prefix_it_did_not_make(tmp_path: Path) -> None:
    paths = tree(tmp_path)
    paths["opt"].mkdir()
    (paths["opt"] / "precious").write_text("not ours")
    result = run_script(UNINSTALL, *uninstall_args(paths), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "leaving it alone" in result.stdout
    assert (paths["opt"] / "precious").exists()
