"""What each `homeplm` subcommand does. Heavy parts load only for the commands that need them."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from typing import Any

from homeplm import assistant
from homeplm.backends import factory
from homeplm.brain.explain import TurnTimer, explain
from homeplm.brain.explain import render as render_explain
from homeplm.brain.intents.announce import AnnounceIntent
from homeplm.cli.main import resolve_config_path, write_out
from homeplm.config import Settings, load_settings, settings_to_dict
from homeplm.core.errors import AudioError, HomeplmError
from homeplm.core.events import EventBus, PipelineEvent, ReplyDelta, ReplyEnd, Transcript
from homeplm.core.logs import log_event, setup_logging
from homeplm.core.paths import control_socket
from homeplm.core.stages import AudioSink, AudioSource
from homeplm.daemon import main as daemon
from homeplm.daemon.control_socket import call, daemon_running
from homeplm.daemon.knobs import Knobs, LateAnnouncer
from homeplm.daemon.turnlog import TurnLog
from homeplm.mqtt.house_link import HouseLink
from homeplm.planner.service import FILE_RUN_WAIT_S, new_planner, with_planner
from homeplm.voice.listener import Listener
from homeplm.voice.pipeline import Pipeline, Stage
from homeplm.voice.wavio import NullSink, RawStdinSource, WavFileSink, WavFileSource, load_wav_16k

_LOGGER = logging.getLogger(__name__)


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(resolve_config_path(args.config))
    setup_logging("DEBUG" if args.verbose else settings.logging.level)
    return settings


def _sink(settings: Settings, output: str | None) -> AudioSink:
    if output == "none":
        return NullSink(settings.output.sample_rate)
    if output:
        return WavFileSink(output, settings.output.sample_rate)
    return factory.make_speaker(settings)


class _TurnPrinter:
    """Prints each turn of a WAV file's run to stdout, for the person who ran it. Never for a live
    input (`--input -` is the daemon fed by a pipe): stdout is the journal there, and what is said
    is logged at DEBUG only."""

    def __call__(self, event: PipelineEvent) -> None:
        if isinstance(event.data, Transcript):
            write_out(f"heard: {event.data.text}")
        elif isinstance(event.data, ReplyEnd):
            write_out(f"reply: {event.data.text}")


async def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    from_file = args.input not in (None, "-")
    source: AudioSource | None = None
    if args.input == "-":
        source = RawStdinSource()
    elif from_file:
        source = WavFileSource(args.input)  # a bad file fails before any model loads
    sink = await _run_sink(settings, args)
    timer = TurnTimer()
    turn_log = TurnLog()
    emit = EventBus(log_event, timer, turn_log, *((_TurnPrinter(),) if from_file else ()))
    house = None
    parts: dict[str, Any] = {}
    pipeline = None
    live = source is None or args.input == "-"
    marks = daemon.startup_marks(settings) if live else None
    planner = new_planner(settings)
    try:
        house = HouseLink(settings) if settings.mqtt.host else None
        plugins = with_planner(planner, house.plugins() if house is not None else None) or assistant.PlugIns()
        announcer = LateAnnouncer()  # "announce …" speaks through the daemon's knobs, once they exist
        plugins.intents.append(AnnounceIntent(announcer))
        pipeline, parts = await assistant.start(settings, assistant.PART_NAMES, emit, sink, marks, plugins)
        if planner is not None:
            planner.attach(pipeline)
            planner.start()
        # A live microphone may be cleaned of what the speaker plays (barge-in needs it).
        echo = factory.make_echo_front(settings) if live else None
        if echo is not None and hasattr(sink, "reference"):
            sink.reference = echo.played
        listener = Listener(pipeline, parts["wake"], emit, echo=echo)
        if planner is not None:
            listener.alert = planner.ringer.alert_for("")  # "stop", no wake word, while it rings here
        if echo is not None and settings.input.echo_cancel and settings.conversation.barge_in:
            listener.linear_wake = await asyncio.to_thread(factory.make_wake, settings)
        # The daemon's running knobs have one owner: Home Assistant, the control socket and SIGHUP
        # all turn them through it.
        knobs = Knobs(settings, pipeline, listener, parts.get("memory")) if live else None
        announcer.knobs = knobs
        if house is not None:
            await house.connect(emit, knobs)
            if planner is not None and knobs is not None:
                house.show_planner(planner)
        if not live:
            assert source is not None
            await listener.run(source)  # a file: one pass, no daemon services
            if planner is not None:  # a timer set in the file rings into the output before the end
                await planner.until_rung(FILE_RUN_WAIT_S)
        else:
            # A live input (microphone, or a pipe from one): the daemon, with its control socket.
            config_path = resolve_config_path(args.config)
            assert knobs is not None
            await daemon.serve(
                settings,
                config_path,
                pipeline,
                listener,
                parts,
                source=source,
                house=house,
                turn_log=turn_log,
                timer=timer,
                marks=marks,
                knobs=knobs,
                planner=planner,
            )
    finally:
        if planner is not None:
            await planner.close()
        if house is not None:
            await house.stop()
        if source is not None:
            await source.close()
        await sink.close()
        await assistant.shutdown(pipeline, parts)
    failed = [t for t in listener.turns if t.outcome == "error"]
    return 1 if failed else 0


async def _run_sink(settings: Settings, args: argparse.Namespace) -> AudioSink:
    """The speaker (or file), and for a microphone run a check that the microphone exists: before
    any model loads, and on a box with neither, both said at once."""
    errors: list[AudioError] = []
    sink = None
    try:
        sink = _sink(settings, args.output)
    except AudioError as err:
        errors.append(err)
    if args.input is None:
        from homeplm.backends.sounddevice_audio import require_device

        try:
            require_device(settings.input.device, "input")
        except AudioError as err:
            errors.insert(0, err)
    if not errors:
        assert sink is not None
        return sink
    if sink is not None:
        await sink.close()
    if len(errors) == 1:
        raise errors[0]
    both = "\nhomeplm: ".join(err.message for err in errors)  # cli.main prints the first "homeplm: "
    raise AudioError(both, code=errors[0].code)


async def cmd_satellite(args: argparse.Namespace) -> int:
    settings = _settings(args)
    from homeplm.wyoming.satellite_box import serve_box

    source = RawStdinSource() if args.input == "-" else WavFileSource(args.input) if args.input else None
    sink = await _run_sink(settings, args)
    try:
        await serve_box(settings, args, source, sink)
    finally:
        if source is not None:
            await source.close()
        await sink.close()
    return 0


async def cmd_transcribe(args: argparse.Namespace) -> int:
    settings = _settings(args)
    audio = load_wav_16k(args.wav)
    loaded = await assistant.load_parts(settings, ("stt",))
    transcript = await asyncio.to_thread(loaded.parts["stt"].transcribe, audio)
    if transcript.text:
        print(transcript.text)
    else:
        print("(no speech recognised)", file=sys.stderr)
    return 0


async def cmd_say(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not args.output and (spoken := await _say_through_daemon(settings, args.text)) is not None:
        return spoken  # the daemon holds the speaker: it speaks
    sink = _sink(settings, args.output)
    try:
        pipeline, _ = await assistant.start(settings, ("tts",), log_event, sink)
        result = await pipeline.speak(args.text)
    finally:
        await sink.close()
    return _exit_code(result.error)


async def cmd_ask(args: argparse.Namespace) -> int:
    settings = _settings(args)
    speak = args.speak or args.output is not None
    socket = control_socket(settings)
    if not speak and daemon_running(socket):
        # The daemon holds the memory: ask through it, so the answer uses (and adds to) the memory.
        record = await asyncio.to_thread(call, socket, "ask", text=args.text)
        write_out(record.get("reply") or "")
        return _finish_ask(record, args.explain)
    sink = _sink(settings, args.output) if speak else None
    names = ("llm", "memory", "tts") if speak else ("llm", "memory")
    timer = TurnTimer()

    def stream(event: PipelineEvent) -> None:
        if isinstance(event.data, ReplyDelta):
            write_out(event.data.text, end="")
        elif isinstance(event.data, ReplyEnd):
            write_out("")

    parts: dict[str, Any] = {}
    pipeline: Pipeline | None = None
    house: HouseLink | None = None
    try:
        emit = EventBus(log_event, timer, stream)
        # No daemon: load the house from the broker, as `run --input` does, so that "turn on the
        # kettle" reaches the kettle rather than the language model.
        house = HouseLink(settings) if settings.mqtt.host and not daemon_running(socket) else None
        planner = new_planner(settings, rings=False)  # lists work; a timer needs the daemon to ring
        plugins = with_planner(planner, house.plugins() if house is not None else None)
        pipeline, parts = await assistant.start(settings, names, emit, sink, plugins=plugins)
        if house is not None:
            await house.connect(emit)
        result = await pipeline.run_text(args.text, Stage.TTS if speak else Stage.BRAIN)
    finally:
        if house is not None:
            await house.stop()
        if sink is not None:
            await sink.close()
        await assistant.shutdown(pipeline, parts)
    assert pipeline is not None
    return _finish_ask(explain(result, timer), args.explain)


def _finish_ask(record: dict[str, Any], show: bool) -> int:
    if show:
        write_out(render_explain(record))
    if error := record.get("error"):
        print(f"homeplm: {error['message']}", file=sys.stderr)
        return 1
    return 0


async def cmd_memory(args: argparse.Namespace) -> int:
    from homeplm.cli.memory import run_memory_command

    settings = _settings(args)
    return await asyncio.to_thread(run_memory_command, settings, args)


async def cmd_devices(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.mqtt:
        return await _mqtt_devices(settings, args.json)
    from homeplm.backends.sounddevice_audio import list_devices

    devices = list_devices()
    if not devices:
        print("no audio devices found (is libportaudio2 installed, and is the user in the 'audio' group?)")
        return 0
    print(f"{'#':>3}  {'in':>3} {'out':>3}  {'rate':>6}  name")
    for d in devices:
        mark = ("<in " if d["is_default_in"] else "") + ("<out" if d["is_default_out"] else "")
        print(
            f"{d['index']:>3}  {d['max_input_channels']:>3} {d['max_output_channels']:>3}  "
            f"{int(d['default_samplerate']):>6}  {d['name']} {mark}".rstrip()
        )
    return 0


async def _mqtt_devices(settings: Settings, as_json: bool) -> int:
    from homeplm.mqtt.house_link import describe_devices

    if not settings.mqtt.host:
        raise HomeplmError("no MQTT broker configured (mqtt.host)", code="config", exit_code=2)
    house = HouseLink(settings)
    await house.start()
    try:
        await house.settle()
        if not house.link.connected:
            raise HomeplmError(f"cannot reach the MQTT broker at {settings.mqtt.host}:{settings.mqtt.port}")
        devices = describe_devices(house)
    finally:
        await house.stop()
    if as_json:
        print(json.dumps(devices, indent=2))
        return 0
    if not devices:
        print("no devices announced on the broker (Home Assistant MQTT discovery)")
    for d in devices:
        state = ", ".join(f"{k}={v}" for k, v in d["state"].items())
        can = " ".join(d["capabilities"])
        print(f"{d['area'] or '-':<14} {d['component']:<10} {d['name']:<28} {can} {state}")
    return 0


async def cmd_check_config(args: argparse.Namespace) -> int:
    path = resolve_config_path(args.config)
    settings = _settings(args)
    print(f"{path or 'built-in defaults'}: configuration OK")
    missing = 0
    for role, resolve in factory.MODEL_RESOLVERS.items():
        try:
            print(f"  {role:<6} {resolve(settings)}")
        except HomeplmError as err:
            missing += 1
            print(f"  {role:<6} MISSING: {err.message}")
    if args.show:
        print(json.dumps(settings_to_dict(settings), indent=2))
    return 3 if missing else 0


async def cmd_bench(args: argparse.Namespace) -> int:
    from homeplm.bench.run import run_bench

    settings = _settings(args)
    return await run_bench(settings, resolve_config_path(args.config), args.quick, args.json)


def _exit_code(error: HomeplmError | None) -> int:
    if error is None:
        return 0
    print(f"homeplm: {error.message}", file=sys.stderr)
    return error.exit_code


# -- admin commands (homeplm/cli/admin.py, homeplm/cli/doctor.py) -----------------------------------------


async def _say_through_daemon(settings: Settings, text: str) -> int | None:
    """Speak on the running daemon's speaker; None when no daemon runs (the caller speaks locally)."""
    socket = control_socket(settings)
    if not daemon_running(socket):
        return None
    outcome = await asyncio.to_thread(call, socket, "say", text=text)
    if outcome != "ok":
        print(f"homeplm: the daemon could not speak ({outcome}); `homeplm logs` shows why", file=sys.stderr)
        return 1
    return 0


async def cmd_status(args: argparse.Namespace) -> int:
    from homeplm.cli.admin import run_status

    settings = _settings(args)
    return await asyncio.to_thread(run_status, control_socket(settings), args.json)


async def cmd_mute(args: argparse.Namespace) -> int:
    from homeplm.cli.admin import run_mute

    settings = _settings(args)
    return await asyncio.to_thread(run_mute, control_socket(settings), True, args.json)


async def cmd_unmute(args: argparse.Namespace) -> int:
    from homeplm.cli.admin import run_mute

    settings = _settings(args)
    return await asyncio.to_thread(run_mute, control_socket(settings), False, args.json)


async def cmd_doctor(args: argparse.Namespace) -> int:
    from homeplm.cli import doctor

    setup_logging("DEBUG" if args.verbose else "WARNING")

    def progress(message: str) -> None:
        if sys.stderr.isatty():
            print("\r" + message + "\x1b[K", end="", file=sys.stderr, flush=True)
        elif not message.startswith(" "):  # per-percent lines only on a terminal
            print(message, file=sys.stderr, flush=True)

    checks = await asyncio.to_thread(
        doctor.run_checks, resolve_config_path(args.config), not args.no_checksums, progress
    )
    if sys.stderr.isatty():
        print("\r\x1b[K", end="", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps([c.as_dict() for c in checks], indent=2))
    else:
        print(doctor.render(checks))
    return 1 if doctor.failed(checks) else 0


async def cmd_mic_test(args: argparse.Namespace) -> int:
    from homeplm.cli.admin_live import run_mic_test

    settings = _settings(args)
    return await run_mic_test(settings, control_socket(settings), args.input, args.seconds, args.json)


async def cmd_wake_test(args: argparse.Namespace) -> int:
    from homeplm.cli.admin_live import run_wake_test

    settings = _settings(args)
    return await run_wake_test(settings, control_socket(settings), args.input, args.seconds, args.json)


async def cmd_logs(args: argparse.Namespace) -> int:
    from homeplm.cli.admin import run_logs

    return run_logs(args.follow, args.lines, args.json)
