"""One owner of the running knobs: the control socket, Home Assistant and SIGHUP all go through it,
and every change is heard by its listeners (the bridge republishes Home Assistant's states)."""

from __future__ import annotations

from types import SimpleNamespace

from homeplm.config.schema import Settings
from homeplm.daemon.knobs import Knobs
from homeplm.daemon.reload import daemon_appliers


def _knobs() -> tuple[Knobs, SimpleNamespace]:
    gate = SimpleNamespace(wake=SimpleNamespace(threshold=0.5))  # a VAD gate around the model
    listener = SimpleNamespace(wake=gate, muted=False)
    pipeline = SimpleNamespace(volume=1.0, wake_phrases=())
    memory = SimpleNamespace(private=False)
    return Knobs(Settings(), pipeline, listener, memory), listener  # type: ignore[arg-type]


def test_every_change_is_heard_whichever_side_made_it() -> None:
    knobs, listener = _knobs()
    heard: list[dict] = []
    knobs.listeners.append(lambda: heard.append(knobs.snapshot()))
    knobs.set_muted(True)  # the control socket's `homeplm mute`
    appliers = daemon_appliers(knobs)  # SIGHUP
    appliers["tts.volume"](0.4)
    appliers["memory.private"](True)
    appliers["wake.threshold"](0.7)
    assert [h["muted"] for h in heard] == [True, True, True, True]
    assert heard[-1] | {"wake_word": None} == {
        "muted": True, "private": True, "wake_word": None, "sensitivity": 0.7, "volume": 0.4
    }  # fmt: skip


def test_a_reload_reaches_the_wake_model_listening_now() -> None:
    knobs, listener = _knobs()
    appliers = daemon_appliers(knobs)  # taken at start-up
    listener.wake = SimpleNamespace(wake=SimpleNamespace(threshold=0.5))  # a new wake word swapped in
    appliers["wake.threshold"](0.8)
    assert listener.wake.wake.threshold == 0.8  # not the old model's


def test_a_failing_listener_does_not_undo_the_change() -> None:
    knobs, listener = _knobs()
    knobs.listeners.append(lambda: 1 / 0)
    knobs.set_muted(True)
    assert listener.muted


def test_a_reload_that_changes_the_satellites_needs_a_restart(tmp_path) -> None:
    from homeplm.daemon.reload import changed_keys, reload

    path = tmp_path / "homeplm.yaml"
    path.write_text("tts:\n  volume: 0.5\nsatellites:\n  - name: kitchen\n    uri: tcp://127.0.0.1:10701\n")
    knobs, _ = _knobs()
    new, report = reload(path, Settings(), daemon_appliers(knobs))
    assert report.error is None and report.applied == ["tts.volume"]
    assert report.needs_restart == ["satellites"]
    assert new.satellites[0].name == "kitchen" and changed_keys(new, new) == []
