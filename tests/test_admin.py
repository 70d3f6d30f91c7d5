"""Admin commands: status, mute/unmute, doctor, mic-test, wake-test, logs; the daemon's TurnLog."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from homeplm.brain.explain import TurnTimer
from homeplm.cli import doctor, doctor_models
from homeplm.cli.admin import render_status
from homeplm.config import Settings
from homeplm.config.schema import MqttSettings
from homeplm.core.events import EventType, PipelineEvent
from homeplm.daemon.handlers import make_handlers
from homeplm.daemon.turnlog import TurnLog
from tests.harness import REPO, StartDaemon, homeplm_cli

# -- TurnLog and the status handler (no models) -----------------------------------------------------


def _event(kind: EventType, run_id: int, at_ms: float, **data: Any) -> PipelineEvent:
    return PipelineEvent.of(kind, run_id=run_id, timestamp_ms=at_ms, **data)


def _spoken_turn(log: TurnLog, run_id: int, t0: float, route: str = "intent:time") -> None:
    log(_event(EventType.RUN_START, run_id, t0, start="audio", end="tts"))
    assert log.phase == "recording"
    log(_event(EventType.SPEECH_START, run_id, t0 + 300, offset_ms=300))
    log(_event(EventType.SPEECH_END, run_id, t0 + 1500, speech_ms=1200, reason="silence"))
    assert log.phase == "thinking"
    log(_event(EventType.TRANSCRIPT, run_id, t0 + 1700, text="what time is it my secret"))
    log(_event(EventType.REPLY_END, run_id, t0 + 1750, text="It is ten past three.", route=route))
    log(_event(EventType.AUDIO_OUT, run_id, t0 + 1900, sample_rate=22050))
    assert log.phase == "speaking"
    log(_event(EventType.AUDIO_OUT, run_id, t0 + 2100, sample_rate=22050))
    log(_event(EventType.RUN_END, run_id, t0 + 3000, outcome="ok"))


def test_turn_log_keeps_route_outcome_latency_never_the_text() -> None:
    log = TurnLog(size=10, clock=lambda: 1000.0)
    log(_event(EventType.READY, 0, 0, load_ms={"llm": 812.5, "wake": 90.0}, ready_ms=900.0))
    assert log.load_ms == {"llm": 812.5, "wake": 90.0} and log.ready_ms == 900.0
    _spoken_turn(log, 1, 10_000)
    assert log.phase == "idle"
    # A typed question: no speech end, no audio: the latency is the whole run.
    log(_event(EventType.RUN_START, 2, 20_000, start="text", end="brain"))
    log(_event(EventType.REPLY_END, 2, 20_400, text="Paris.", route="llm"))
    log(_event(EventType.RUN_END, 2, 20_450, outcome="ok"))
    # A failed turn keeps the error code.
    log(_event(EventType.RUN_START, 3, 30_000, start="audio", end="tts"))
    log(_event(EventType.ERROR, 3, 30_100, code="stt", message="boom"))
    log(_event(EventType.RUN_END, 3, 30_200, outcome="error"))
    first, second, third = log.turns()
    assert first == {
        "time": 1000.0,
        "run_id": 1,
        "start": "audio",
        "route": "intent:time",
        "outcome": "ok",
        "latency_ms": 400.0,  # SPEECH_END → first AUDIO_OUT
        "latency": "speech_end→audio_out",
    }
    assert second["latency_ms"] == 450.0 and second["latency"] == "run_start→run_end"
    assert second["route"] == "llm" and second["start"] == "text"
    assert third["outcome"] == "error" and third["error"] == "stt" and third["route"] is None
    dumped = json.dumps(log.turns())
    assert "secret" not in dumped and "ten past" not in dumped and "Paris" not in dumped


def test_turn_log_is_a_ring_of_the_last_turns() -> None:
    log = TurnLog(size=10)
    for run_id in range(1, 26):
        _spoken_turn(log, run_id, run_id * 10_000.0)
    assert [t["run_id"] for t in log.turns()] == list(range(16, 26))
    log(_event(EventType.RUN_END, 99, 0, outcome="ok"))  # an unknown run is ignored
    assert len(log.turns()) == 10


async def test_status_handler_reports_state_models_memory_and_turns() -> None:
    log = TurnLog()
    log(_event(EventType.READY, 0, 0, load_ms={"llm": 812.5, "stt": 301.0, "memory": 77.0}, ready_ms=900.0))
    _spoken_turn(log, 1, 10_000)
    settings = Settings()
    pipeline = SimpleNamespace(settings=settings)
    listener = SimpleNamespace(muted=False, turns=[object()])
    memory = SimpleNamespace(
        private=True,
        count=lambda: 3,
        stats=lambda: (3, 1),
        list_items=lambda kind=None, limit=None: [object()],
    )
    info = {"turn_log": log, "mqtt_connected": lambda: True}
    handlers = make_handlers(pipeline, listener, memory, TurnTimer(), info)  # type: ignore[arg-type]
    status = await handlers["status"]({})
    assert status["state"] == "listening" and status["pid"] == os.getpid() and status["turns"] == 1
    assert status["load_ms"] == {"llm": 812.5, "stt": 301.0, "memory": 77.0} and status["ready_ms"] == 900.0
    assert set(status["models"]) == {"wake", "vad", "asr", "llm", "tts"}
    assert status["mqtt"] == {"broker": None, "connected": None}  # not configured
    assert status["memory"] == {"items": 3, "facts": 1, "exchanges": 2, "private": True}
    assert status["last_turns"][0]["route"] == "intent:time"
    log(_event(EventType.RUN_START, 2, 50_000, start="audio", end="tts"))
    assert (await handlers["status"]({}))["state"] == "recording"
    listener.muted = True
    assert (await handlers["status"]({}))["state"] == "muted"
    text = render_status(status, now=1_000_000_000.0)
    for needle in ("state:    listening", "    812 ms  /", "mqtt:     not configured", "PRIVATE MODE"):
        assert needle in text, text
    assert "intent:time" in text and "400 ms" in text
    assert "asr        301 ms" in text and "memory      77 ms" in text


# -- doctor --------------------------------------------------------------------------------------------


def test_doctor_checks_homeplms_own_discovery_against_what_home_assistant_accepts() -> None:
    from homeplm.config.schema import MqttSettings, Settings

    good = doctor.check_discovery(Settings(mqtt=MqttSettings(host="127.0.0.1")))
    assert good.status == doctor.OK and "entities" in good.detail
    bad = doctor.check_discovery(Settings(mqtt=MqttSettings(host="127.0.0.1", node_id="house/#")))
    assert bad.status == doctor.FAIL and "wildcard" in bad.detail and "mqtt.node_id" in bad.hint
    assert doctor.check_discovery(Settings()).status == doctor.OK  # no broker: nothing to check


def _doctor(*args: str, state: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, dict[str, str]]]:
    result = homeplm_cli("doctor", "--json", *args, state_dir=state, timeout=120)
    assert result.returncode in (0, 1), result.stderr
    return result, {c["name"]: c for c in json.loads(result.stdout)}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once it is closed


def test_doctor_on_the_default_config(tmp_path: Path) -> None:
    result, checks = _doctor("--config", "configs/homeplm.yaml", state=tmp_path)
    assert checks["config"]["status"] == "ok"
    for role in ("wake", "vad", "asr", "llm", "tts", "embeddings"):
        check = checks[f"model {role}"]
        assert check["status"] == "ok", check
        assert "sha256" in check["detail"] and "matches the package record" in check["detail"]
    assert "hashing llm" in result.stderr  # progress on stderr
    for name in ("mqtt broker", "expert", "disk", "state dir", "cpu", "python", "memory lock"):
        assert checks[name]["status"] in ("ok", "warn"), checks[name]
    assert checks["daemon"]["status"] == "warn" and checks["daemon"]["hint"]
    assert all(c["status"] in ("ok", "warn", "fail") for c in checks.values())
    # Exit 1 exactly when a check fails (a box without a sound card fails the audio checks).
    assert result.returncode == (1 if any(c["status"] == "fail" for c in checks.values()) else 0)
    assert (tmp_path / doctor_models.CHECKSUM_CACHE).exists()  # a second doctor does not hash again
    again, _ = _doctor("--config", "configs/homeplm.yaml", state=tmp_path)
    assert "%" not in again.stderr
    skipped, checks = _doctor("--no-checksums", state=tmp_path)
    assert "sha256" not in checks["model llm"]["detail"] and "hashing" not in skipped.stderr


def test_doctor_fails_on_a_missing_model_and_an_unreachable_broker(tmp_path: Path) -> None:
    port = _closed_port()
    config = tmp_path / "c.yaml"
    config.write_text(f"llm:\n  model: /nonexistent/model.gguf\nmqtt:\n  host: 127.0.0.1\n  port: {port}\n")
    result, checks = _doctor("--config", str(config), "--no-checksums", state=tmp_path)
    assert result.returncode == 1
    llm = checks["model llm"]
    assert llm["status"] == "fail" and "/nonexistent/model.gguf" in llm["detail"] and llm["hint"]
    assert checks["model tts"]["status"] == "ok"
    broker = checks["mqtt broker"]
    assert broker["status"] == "fail" and f"127.0.0.1:{port}" in broker["detail"] and broker["hint"]
    human = homeplm_cli("doctor", "--config", str(config), "--no-checksums", state_dir=tmp_path)
    assert human.returncode == 1
    assert "FAIL  model llm" in human.stdout and "→ fix the path" in human.stdout


def test_doctor_reaches_a_listening_broker_and_reports_a_bad_config(tmp_path: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        settings = Settings(mqtt=MqttSettings(host="127.0.0.1", port=server.getsockname()[1]))
        assert doctor.check_broker(settings).status == "ok"
    bad = tmp_path / "bad.yaml"
    bad.write_text("wake:\n  threshhold: 0.5\n")
    result, checks = _doctor("--config", str(bad), state=tmp_path)
    assert result.returncode == 1 and checks["config"]["status"] == "fail"
    assert "wake.threshhold" in checks["config"]["detail"]


def test_doctor_small_checks(tmp_path: Path) -> None:
    old_x86 = "processor: 0\nflags\t\t: fpu sse sse2 avx\n"
    cpu = doctor.check_cpu(old_x86, "x86_64")
    assert cpu.status == "warn" and "avx2 NO" in cpu.detail and "slower" in cpu.hint
    assert doctor.check_cpu("Features\t: fp asimd evtstrm\n", "aarch64").status == "ok"
    assert doctor.check_cpu("Features\t: fp evtstrm\n", "aarch64").status == "warn"
    assert doctor.check_python((3, 10, 4)).status == "fail"
    assert doctor.check_python().status == "ok"
    assert doctor.check_state_writable(tmp_path).status == "ok"
    assert doctor.check_expert(Settings()).detail.startswith("not configured")
    # The memory lock, held by another process while no daemon answers: a stuck process.
    settings = Settings()
    assert doctor.check_memory_lock(settings, tmp_path, daemon_up=False).status == "ok"  # no lock file
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE, text=True
    )
    try:
        lock = tmp_path / "memory.lock"
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.pwrite(fd, f"{holder.pid}\n".encode(), 0)
        # flock is per open file description: a fresh open in this process is blocked too.
        held = doctor.check_memory_lock(settings, tmp_path, daemon_up=False)
        assert held.status == "fail" and str(holder.pid) in held.detail and held.hint
        assert doctor.check_memory_lock(settings, tmp_path, daemon_up=True).status == "ok"
        os.close(fd)
        assert doctor.check_memory_lock(settings, tmp_path, daemon_up=False).detail == "free"
    finally:
        holder.communicate("")


# -- without a daemon ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["status", "mute", "unmute"])
def test_daemon_commands_without_a_daemon_exit_5(command: str, tmp_path: Path) -> None:
    result = homeplm_cli(command, state_dir=tmp_path, timeout=60)
    assert result.returncode == 5
    assert "no homeplm daemon is running" in result.stderr and "Traceback" not in result.stderr
    as_json = homeplm_cli(command, "--json", state_dir=tmp_path, timeout=60)
    assert as_json.returncode == 5 and as_json.stdout == "" and "no homeplm daemon" in as_json.stderr


def test_help_documents_the_exit_codes() -> None:
    for command in ("status", "mute", "unmute", "doctor", "mic-test", "wake-test", "logs"):
        result = homeplm_cli(command, "--help", timeout=30)
        assert result.returncode == 0 and "exit codes:" in result.stdout, command
    assert "5  no daemon is running" in homeplm_cli("status", "--help").stdout
    assert homeplm_cli("mic-test", "--seconds", "x").returncode == 2


def test_logs_without_journalctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no journalctl, no systemctl
    result = homeplm_cli("logs", "-n", "5", timeout=30)
    assert result.returncode == 1 and "journalctl is not installed" in result.stderr


def test_logs_without_the_unit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from homeplm.cli import admin

    fake = tmp_path / "journalctl"
    fake.write_text('#!/bin/sh\necho journal "$@"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(admin, "UNIT_DIRS", (str(tmp_path / "units"),))
    assert admin.run_logs(False, 5, False, unit="homeplm-test-unknown") == 1


# -- mic-test and wake-test on a recording -------------------------------------------------------------


@pytest.fixture(scope="module")
def hey_jarvis_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from homeplm.backends import factory
    from homeplm.bench import phrases as synth
    from homeplm.config import load_settings
    from homeplm.voice.wavio import write_wav

    tts = factory.make_tts(load_settings(REPO / "configs" / "homeplm.yaml"))
    path = tmp_path_factory.mktemp("wav") / "hey_jarvis.wav"
    # Piper normalises its voice to full scale (a peak can touch the limit, which mic-test calls
    # clipping, by chance); a person at a microphone sits about 6 dB lower.
    speech = synth.speak(tts, "Hey Jarvis")
    write_wav(path, (speech // 2).astype(speech.dtype), 16000)
    return path


@pytest.mark.real
def test_mic_test_on_a_recording(hey_jarvis_wav: Path, tmp_path: Path) -> None:
    result = homeplm_cli("mic-test", "--input", str(hey_jarvis_wav), state_dir=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "dBFS |" in result.stdout and "peak" in result.stdout  # the live meter lines
    assert "average " in result.stdout and "clipped samples" in result.stdout
    summary = json.loads(
        homeplm_cli("mic-test", "--input", str(hey_jarvis_wav), "--json", state_dir=tmp_path).stdout
    )
    assert -40 < summary["average_dbfs"] < -10 and summary["peak_dbfs"] <= 0
    assert summary["clipped_samples"] == 0 and summary["ok"] and 2.5 < summary["seconds"] < 4
    quiet = tmp_path / "quiet.wav"
    from homeplm.bench.phrases import noise
    from homeplm.voice.wavio import write_wav

    write_wav(quiet, noise(1.0, dbfs=-65), 16000)
    low = homeplm_cli("mic-test", "--input", str(quiet), state_dir=tmp_path)
    assert low.returncode == 1 and "too quiet" in low.stdout
    cut = homeplm_cli("mic-test", "--input", str(quiet), "--seconds", "0.5", "--json", state_dir=tmp_path)
    assert json.loads(cut.stdout)["seconds"] == pytest.approx(0.48)


@pytest.mark.real
def test_wake_test_on_a_recording(hey_jarvis_wav: Path, tmp_path: Path) -> None:
    result = homeplm_cli("wake-test", "--input", str(hey_jarvis_wav), state_dir=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "DETECTED hey_jarvis" in result.stdout and "1 detection(s)" in result.stdout
    assert "hey_jarvis 0.00" in result.stdout  # the live score lines
    found = json.loads(
        homeplm_cli("wake-test", "--input", str(hey_jarvis_wav), "--json", state_dir=tmp_path).stdout
    )
    assert [d["name"] for d in found["detections"]] == ["hey_jarvis"]
    assert found["max_scores"]["hey_jarvis"] >= found["threshold"]


# -- with a daemon ---------------------------------------------------------------------------------------


@pytest.fixture()
def daemon(start_daemon: StartDaemon) -> Iterator[Path]:
    running = start_daemon()
    running.wait_for("control socket")
    yield running.state_dir
    assert running.stop() == 0


@pytest.mark.real
def test_status_mute_unmute_and_say_through_the_daemon(daemon: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return homeplm_cli(*args, state_dir=daemon, timeout=60)

    shown = cli("status")
    assert shown.returncode == 0, shown.stderr
    assert "state:    listening" in shown.stdout and "uptime:" in shown.stdout
    assert "llm" in shown.stdout and "SmolLM2" in shown.stdout and "memory:   0 items" in shown.stdout
    status = json.loads(cli("status", "--json").stdout)
    assert status["uptime_s"] >= 0 and not status["muted"]
    assert set(status["models"]) == {"wake", "vad", "asr", "llm", "tts"}
    assert all(status["models"].values())

    muted = cli("mute")
    assert muted.returncode == 0 and "muted" in muted.stdout
    assert json.loads(cli("status", "--json").stdout)["state"] == "muted"
    assert "state:    muted" in cli("status").stdout
    assert json.loads(cli("unmute", "--json").stdout) == {"muted": False}
    assert json.loads(cli("status", "--json").stdout)["state"] == "listening"

    said = cli("say", "Dinner is ready.")  # on the daemon's (null) speaker: no local TTS load
    assert said.returncode == 0, said.stderr
    assert "Loaded" not in said.stderr and "piper" not in said.stderr.lower()

    checks = {c["name"]: c for c in json.loads(cli("doctor", "--json", "--no-checksums").stdout)}
    assert checks["daemon"]["status"] == "ok"
    assert checks["memory lock"]["status"] == "ok" and "held by the daemon" in checks["memory lock"]["detail"]
    warned = cli("mic-test", "--seconds", "0.1")  # no sound card here, or one: it warns either way
    assert "the daemon is running and also uses the microphone" in warned.stderr


def test_doctor_checks_the_planner(tmp_path: Path) -> None:
    from homeplm.config.schema import AssistantSettings, Settings
    from homeplm.planner.store import Item, PlannerStore

    berlin = Settings(assistant=AssistantSettings(timezone="Europe/Berlin"))
    assert doctor.check_planner(berlin, tmp_path).detail == "time zone Europe/Berlin"
    store = PlannerStore(tmp_path / "planner.sqlite3")
    store.add(Item(0, "alarm", due=2e9))
    store.close()
    assert doctor.check_planner(berlin, tmp_path).detail == "time zone Europe/Berlin, 1 alarm(s)"
    nowhere = doctor.check_planner(Settings(assistant=AssistantSettings(timezone="Mars/Olympus")), tmp_path)
    assert nowhere.status == doctor.FAIL and "assistant.timezone" in nowhere.detail
    (tmp_path / "planner.sqlite3").write_bytes(b"not a database at all" * 100)
    broken = doctor.check_planner(berlin, tmp_path)
    assert broken.status == doctor.FAIL and "planner.sqlite3" in broken.detail
