"""homeplm: a private, whole-house voice assistant on one small box.

Where things live (each folder is one stage; imports go down this list, never up):

    core/      the shared vocabulary: stage interfaces (stages.py), typed events, errors, the audio
               format, model locations and paths, one worker thread per model (workers.py)
    backends/  every heavy library in exactly one module (openWakeWord, silero, faster-whisper,
               llama.cpp, piper, chromadb, MiniLM, sounddevice, paho), chosen by factory.py
    voice/     the audio loop: listener (mic → wake gate → wake phrase), endpointer, recorder,
               pipeline (one turn: record → ASR → brain → TTS), sentence splitter, speaker,
               phrase cache, chime, ASR bias, WAV/PCM sources and sinks (wavio.py)
    brain/     the router (router.py), fast intents (intents/), the local LLM route, the expert,
               the route record (explain.py), the claim filter (claims.py: a model never says it
               did what nobody did)
    memory/    the household's memory: service, store process, JSONL export, voice commands
    planner/   timers, alarms, reminders and lists: SQLite store, times as said (when.py),
               scheduler, ringer, intents, CLI operations, and service.py that wires them in
    house/     the house's own devices from MQTT discovery and statestream: how commands are
               worded (phrasing.py), names/areas/kinds (matching.py), their intents and actions,
               and free phrasing (the local LLM picks from a closed set)
    mqtt/      homeplm's own Home Assistant device (ha_entities.py, bridge.py, planner_entities.py)
               and the link (house_link.py)
    wyoming/   speech to text, text to speech and the brain as Wyoming services for Home Assistant
               (server.py), satellites in other rooms (satellites.py), `homeplm satellite`
               (satellite_box.py)
    config/    YAML → frozen, typed settings
    daemon/    the running daemon: control socket and its handlers, the running knobs (knobs.py),
               reload on SIGHUP, sd_notify, start-up warm-up and crash marks
    cli/       argument parsing (main.py), the commands, admin, doctor
    bench/     `homeplm bench`, and the planner, free-phrasing and spoken-house benchmarks
    assistant.py  the composition root: loads the parts a command needs and wires the pipeline

A microphone chunk: backends/sounddevice_audio → voice/listener → voice/wakegate → backends/
openwakeword_wake. A transcript: voice/pipeline → brain/router → brain/intents | brain/llm_route →
voice/speaker → backends/piper_tts → backends/sounddevice_audio.
"""

__version__ = "0.1.0"
