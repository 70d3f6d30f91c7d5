"""The house as people talk about it: the typed corpus (tests/houses/phrases.yaml) run through the running
daemon, one daemon per house (tests/houses/<house>.json published retained on a real mosquitto first),
each case's utterances asked on the control socket as the admin CLI asks them, and every MQTT publication
the case caused compared with the corpus's, exactly.

Cases listed under `known_gaps` in the corpus are expected to fail (xfail, strict): one that starts to pass
fails the run until it leaves the list."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from homeplm.daemon.control_socket import call
from tests.harness import Broker, Daemon, MqttClient, wait_until

pytestmark = pytest.mark.real

HOUSES = Path(__file__).resolve().parent / "houses"
CORPUS = yaml.safe_load((HOUSES / "phrases.yaml").read_text(encoding="utf-8"))
OWN = "homeplm/homeplm/"  # the daemon's own topics (topic_prefix/node_id)
SETTLE_S = 0.25  # publications come before the reply; this catches any that trail it
ASK_TIMEOUT_S = 120.0  # a case that falls to the local model may take seconds on a slow machine


@dataclass(frozen=True)
class Case:
    id: str
    house: str
    say: tuple[str, ...]
    expect: tuple[tuple[str, Any], ...]
    reply_has: tuple[str, ...] = ()
    reply_lacks: tuple[str, ...] = ()


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def load_cases() -> list[Case]:
    cases: list[Case] = []
    for raw in CORPUS["cases"]:
        say = _strings(raw["say"])
        case = Case(
            id=raw.get("id") or f"{raw['house']}: {' / '.join(say)}",
            house=raw["house"],
            say=say,
            expect=tuple((topic, payload) for topic, payload in raw["expect"]),
            reply_has=_strings(raw.get("reply_has")),
            reply_lacks=_strings(raw.get("reply_lacks")),
        )
        assert (HOUSES / f"{case.house}.json").is_file(), case.id
        cases.append(case)
    ids = Counter(c.id for c in cases)
    assert not [i for i, n in ids.items() if n > 1], "duplicate case ids"
    unknown = set(CORPUS.get("known_gaps") or ()) - set(ids)
    assert not unknown, f"known_gaps names cases that do not exist: {sorted(unknown)}"
    return cases


CASES = load_cases()
GAPS = frozenset(CORPUS.get("known_gaps") or ())


def _params() -> list[Any]:
    order = {house: i for i, house in enumerate(dict.fromkeys(c.house for c in CASES))}
    params = []
    for case in sorted(CASES, key=lambda c: order[c.house]):  # stable: file order within a house
        marks = [pytest.mark.xfail(strict=True, reason="known gap")] if case.id in GAPS else []
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


# -- comparing publications ------------------------------------------------------------------------------


def canonical(payload: Any) -> tuple[str, Any]:
    """A payload as it is compared: JSON as parsed JSON, numbers as numbers, other text as text."""
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8", "replace")
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            return ("text", payload)
    if isinstance(payload, bool) or payload is None or isinstance(payload, (dict, list)):
        return ("json", json.dumps(payload, sort_keys=True))
    if isinstance(payload, (int, float)):
        return ("number", float(payload))
    return ("text", str(payload))


def counts(publications: Any) -> Counter[tuple[str, tuple[str, Any]]]:
    return Counter((topic, canonical(payload)) for topic, payload in publications)


def counts_as_publication(topic: str) -> bool:
    """Everything the daemon publishes counts, except its own state and its own discovery; a command to
    itself through the broker (…/set) and an ha_intent count."""
    if topic.startswith("homeassistant/") and "/homeplm/" in topic and topic.endswith("/config"):
        return False
    if topic.startswith(OWN):
        rest = topic[len(OWN) :]
        return rest.endswith("/set") or rest == "ha_intent"
    return True


# -- one daemon per house ---------------------------------------------------------------------------------


def publish_house(broker: Broker, house: str) -> None:
    """The house file's messages, retained as its firmware leaves them."""
    messages = json.loads((HOUSES / f"{house}.json").read_text(encoding="utf-8"))
    client = MqttClient(broker)
    try:
        for m in messages:
            payload = m["payload"] if isinstance(m["payload"], str) else json.dumps(m["payload"])
            client.publish(m["topic"], payload, retain=m.get("retain", True))
    finally:
        client.close()


@dataclass
class RunningHouse:
    name: str
    broker: Broker
    daemon: Daemon
    watch: MqttClient

    @property
    def socket(self) -> Path:
        return self.daemon.state_dir / "control.sock"

    def ask(self, text: str) -> str:
        answer = call(self.socket, "ask", timeout_s=ASK_TIMEOUT_S, text=text)
        return str(answer.get("reply") or "")

    def publications(self) -> list[tuple[str, bytes]]:
        with self.watch.lock:
            return [(t, p) for t, p, _ in self.watch.messages if counts_as_publication(t)]

    def tidy(self, last_reply: str) -> None:
        """Leave nothing for the next case: a question still open is answered "no", a daemon that muted
        itself or went private is set back."""
        acted = last_reply.rstrip().endswith("?")
        if acted:
            self.ask("no")
        with self.watch.lock:
            own = [(t, p) for t, p, _ in self.watch.messages if t.startswith(OWN)]
        if (f"{OWN}mute", b"ON") in own:
            call(self.socket, "mute", on=False)
            acted = True
        if (f"{OWN}private", b"ON") in own:
            self.watch.publish(f"{OWN}private/set", "OFF")
            wait_until(lambda: self.watch.last(f"{OWN}private") == b"OFF", 10, "private mode off")
            acted = True
        if acted:
            time.sleep(SETTLE_S)  # whatever that caused lands before the next case starts
        self.watch.clear()

    def close(self) -> None:
        self.watch.close()
        self.daemon.close()
        self.broker.stop()
        LOGS[self.name] = self.daemon.log


LOGS: dict[str, str] = {}  # each house's daemon log, once it has ended


def start_house(name: str, folder: Path) -> RunningHouse:
    folder.mkdir(parents=True, exist_ok=True)
    broker = Broker(folder)
    broker.start()
    try:
        publish_house(broker, name)
        watch = MqttClient(broker, "#")
        (folder / "state").mkdir(exist_ok=True)
        config = folder / "homeplm.yaml"
        config.write_text(f"mqtt:\n  host: 127.0.0.1\n  port: {broker.port}\n")
        daemon = Daemon(folder / "state", config=config)
    except BaseException:
        broker.stop()
        raise
    house = RunningHouse(name, broker, daemon, watch)
    try:
        daemon.wait_for("control socket", timeout=180)
        watch.wait(lambda m: m[0] == f"{OWN}availability" and m[1] == b"online", timeout=120)
        time.sleep(2.0)  # the retained discovery, then the state topics it names
        watch.clear()
    except BaseException:
        house.close()
        raise
    return house


class Houses:
    """One running house at a time: asking for another ends the one before it (two cores, one daemon)."""

    def __init__(self, tmp: pytest.TempPathFactory) -> None:
        self.tmp = tmp
        self.running: RunningHouse | None = None

    def __call__(self, name: str) -> RunningHouse:
        if self.running is None or self.running.name != name:
            self.end()
            self.running = start_house(name, self.tmp.mktemp(f"house-{name}"))
        return self.running

    def end(self) -> None:
        if self.running is not None:
            running, self.running = self.running, None
            running.close()


@pytest.fixture(scope="module")
def houses(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Houses]:
    houses = Houses(tmp_path_factory)
    yield houses
    houses.end()


# -- the corpus ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _params())
def test_house_corpus(case: Case, houses: Houses) -> None:
    house = houses(case.house)
    assert house.daemon.proc.poll() is None, f"the daemon has ended:\n{house.daemon.log[-3000:]}"
    house.watch.clear()
    replies: list[str] = []
    try:
        for text in case.say:
            replies.append(house.ask(text))
        time.sleep(SETTLE_S)
        published = house.publications()
    finally:
        house.tidy(replies[-1] if replies else "")

    said = "\n".join(f"  said {s!r} → replied {r!r}" for s, r in zip(case.say, replies, strict=True))
    shown = [(t, p.decode("utf-8", "replace")) for t, p in published]
    assert counts(published) == counts(case.expect), (
        f"publications differ\n{said}\n  published: {shown}\n  expected:  {list(case.expect)}"
    )
    reply = replies[-1].lower()
    for text in case.reply_has:
        assert text.lower() in reply, f"the reply lacks {text!r}\n{said}"
    for text in case.reply_lacks:
        assert text.lower() not in reply, f"the reply has {text!r}\n{said}"


def test_hostile_houses_leave_no_traceback(houses: Houses) -> None:
    """After the whole corpus (garbage configs, a deep and a huge payload, control characters in names):
    every daemon logged its warnings as single lines, never a traceback."""
    houses.end()
    assert LOGS, "no house ran"
    for name, log in LOGS.items():
        assert "Traceback" not in log, f"{name}: {log[log.index('Traceback') - 500 :][:3000]}"
