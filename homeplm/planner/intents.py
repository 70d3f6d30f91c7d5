"""Timers, alarms and reminders by voice, without the language model.

"set a rice timer for 12 minutes", "how long is left on the rice timer?", "add 5 minutes to the
timer", "pause the timer", "cancel all timers"; "wake me up at 7", "set an alarm for 6:30 tomorrow",
"every weekday at 7", "snooze", "what alarms do I have"; "remind me to water the plants at 6 pm", "in
20 minutes remind me to turn the oven off", "what are my reminders". Each is written to the store
before it is confirmed, and the confirmation says the time back ("Alarm set for 7 am tomorrow").
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, tzinfo

from homeplm.brain.intents.types import IntentMatch, IntentReply
from homeplm.core.stages import Turn
from homeplm.planner import when
from homeplm.planner.store import Item, PlannerStore

SNOOZE_S = 540.0  # nine minutes, as alarm clocks do
MAX_TIMER_S = 24 * 3600.0
_SEP = "\x00"
_DROP = frozenset({"a", "an", "the", "my", "set", "start", "make", "create", "put", "on", "new", "for", "of",
                   "me", "up", "please", "timer", "called", "named", "to", "another", "one",
                   "second"})  # fmt: skip

_TIMER_SET = re.compile(r"^(?:(?:set|start|make|create|put on|give me) )?(?P<rest>.*\btimer\b.*)$")
_TIMER_LEFT = re.compile(
    r"^(?:how (?:long|much time|much longer)(?: is| has)?(?: (?:there|it))? (?:left|to go|remaining)"
    r"|how much longer|how long until|what is left|how long)(?: (?:on|for|of) (?P<name>.+?))?$"
    r"|^how long (?:until|till|before) (?:the )?(?P<name2>[a-z]+) (?:is|will be) (?:done|ready|finished)$"
)
_TIMER_ADJUST = re.compile(
    r"^(?P<v>add|put|take|remove|subtract) (?P<d>.+?) (?P<p>to|on|onto|off|from) (?P<name>.+)$"
)
_TIMER_PAUSE = re.compile(r"^(?P<v>pause|hold|resume|continue|unpause|restart) (?P<name>.*\btimer\b.*)$")
_CANCEL = re.compile(r"^(?:cancel|stop|delete|remove|clear|turn off|end|kill) (?P<name>.+)$")
_LIST_ITEMS = re.compile(
    r"^(?:what|which|list|tell me|how many)(?: are| is)?(?: my| the| all)? ?(?P<kind>timer|alarm|reminder)s?"
    r"(?: do i have| are (?:there|set|running|on)| have i set| i have| running| set)?$"
    r"|^what (?P<kind2>timer|alarm|reminder)s? (?:do i have|are (?:set|running|there)|have i set)$"
    r"|^when is my (?:next )?(?P<kind3>alarm|reminder)$|^what time is my (?:next )?(?P<kind4>alarm)$"
    r"|^do i have any (?P<kind5>timer|alarm|reminder)s?(?: set| running)?$"
)
_ALARM_SET = re.compile(
    r"^(?:(?:please )?wake me(?: up)?|(?:set|make|create) (?:an |my |a |the )?alarm|alarm)\b(?P<rest>.*)$"
)
_REMIND = re.compile(
    r"^(?:(?P<pre>.*?) )?remind (?:me|us)"
    r"(?: (?P<pre2>in .+?|at .+?|tomorrow\w*(?: morning| afternoon| evening)?|tonight|(?:on |next )?\w+day))?"
    r" (?:to|about|that) (?P<what>.+)$"
    r"|^(?:set|add|create) (?:a |an )?reminder (?:to|about|for) (?P<what2>.+)$"
)
_STOP_WORDS = frozenset({
    "stop", "stop it", "stop the timer", "stop the alarm", "stop the ringing", "ok stop", "cancel",
    "turn it off", "be quiet", "quiet", "silence", "enough", "i am up", "okay i am up",
})  # fmt: skip
_SNOOZE = re.compile(
    r"^(?:snooze(?: (?:it|the alarm))?(?: for (?P<d>.+))?|(?P<d2>\d+ more minutes?)|(?P<d3>\d+) more minute)$"
)


class PlannerIntents:
    """The "planner" intent handler: timers, alarms and reminders (lists are `ListIntents`)."""

    name = "planner"

    def __init__(
        self,
        store: PlannerStore,
        zone: tzinfo,
        *,
        clock: Callable[[], float] = time.time,
        ringing: Callable[[], Item | None] = lambda: None,
        stop_ringing: Callable[[], bool] = lambda: False,
        rings: bool = True,
    ) -> None:
        self.store = store
        self.zone = zone
        self.clock = clock
        self.ringing = ringing  # what rings now (or rang last, for "snooze")
        self.stop_ringing = stop_ringing
        self.rings = rings  # False without the daemon: nothing would ring, so nothing is set
        self._asked: str | None = None  # "for how long?" / "which one?" waiting for an answer
        self._asked_at = 0
        self.utterances = 0

    def heard(self) -> None:
        """An utterance came (whoever answers it): a question of ours is for the next one only."""
        self.utterances += 1

    # -- matching ------------------------------------------------------------------------------
    def match(self, text: str, n: str) -> IntentMatch | None:
        matchers = (self._follow_up, self._stop, self._snooze, self._list, self._remind, self._alarm,
                    self._timer_left, self._timer_adjust, self._timer_pause, self._cancel,
                    self._timer_set)  # fmt: skip
        for matcher in matchers:
            if (found := matcher(n, text)) is not None:
                return found
        return None

    def _follow_up(self, n: str, _text: str) -> IntentMatch | None:
        asked, self._asked = self._asked, None
        if self.utterances > self._asked_at + 1:
            return None
        if asked == "duration" and (d := when.duration(n)) is not None:
            return IntentMatch("timer.set", {"seconds": str(d[0]), "name": ""}, 0.95, n)
        if asked is not None and asked.startswith("which:"):
            ids = asked.removeprefix("which:").split(_SEP)
            chosen = self._by_name(n, [i for i in self.store.items("timer") if str(i.id) in ids])
            if chosen:
                return IntentMatch("timer.cancel", {"ids": _SEP.join(str(i.id) for i in chosen)}, 0.95, n)
        return None

    def _stop(self, n: str, _text: str) -> IntentMatch | None:
        if n in _STOP_WORDS and self.ringing():
            return IntentMatch("ring.stop", {}, 1.0, n)
        return None

    def _snooze(self, n: str, _text: str) -> IntentMatch | None:
        m = _SNOOZE.match(n)
        if m is None:
            return None
        spoken = m["d"] or m["d2"] or (f"{m['d3']} minute" if m["d3"] else None)
        found = when.duration(spoken) if spoken else None
        seconds = found[0] if found is not None else SNOOZE_S
        return IntentMatch("alarm.snooze", {"seconds": str(seconds)}, 0.95, n)

    def _list(self, n: str, _text: str) -> IntentMatch | None:
        m = _LIST_ITEMS.match(n)
        if m is None:
            return None
        kind = next(k for k in m.groups() if k)
        return IntentMatch(
            f"{kind}.list",
            {"kind": kind, "next": "1" if n.startswith(("when", "what time")) else ""},
            0.95,
            n,
        )

    def _remind(self, n: str, text: str) -> IntentMatch | None:
        m = _REMIND.match(n)
        if m is None:
            return None
        what = m["what"] or m["what2"] or ""
        if re.search(r" remind (?:me|us) about ", f" {n}") or n.startswith(
            ("set a reminder about", "add a reminder about")
        ):
            what = f"about {what}"
        timing = " ".join(p for p in (m["pre"], m["pre2"]) if p)
        found_in = when.duration(timing) if timing.startswith("in ") or " in " in f" {timing}" else None
        tail = None
        if not timing:  # "remind me to water the plants at 6 pm": the time is at the end
            tail = re.search(
                r" (?:at .+|in .+|tomorrow.*|tonight.*|on \w+day.*|this (?:morning|afternoon|evening).*)$",
                what,
            )
            if tail is not None:
                timing, what = tail.group().strip(), what[: tail.start()]
                found_in = when.duration(timing) if timing.startswith("in ") else None
        if found_in is not None:
            due = self.clock() + found_in[0]
        else:
            now = datetime.fromtimestamp(self.clock(), self.zone)
            moment = when.next_time(now, when.clock_time(timing), when.day_spec(timing), kind="reminder")
            if moment is None:
                return IntentMatch("reminder.when", {"what": what}, 0.9, n)
            due = moment.timestamp()
        said = "in" if found_in is not None else "at"
        return IntentMatch("reminder.set", {"what": what.strip(), "due": str(due), "said": said}, 0.95, n)

    def _alarm(self, n: str, _text: str) -> IntentMatch | None:
        m = _ALARM_SET.match(n)
        if m is None:
            return None
        rest = m["rest"]
        if (found := when.duration(rest)) is not None and " in " in f" {rest}":
            return IntentMatch(
                "alarm.set", {"due": str(self.clock() + found[0]), "repeat": "", "local": ""}, 0.95, n
            )
        now = datetime.fromtimestamp(self.clock(), self.zone)
        clock, day = when.clock_time(rest), when.day_spec(rest)
        if clock is None and (day is None or not day.part):
            return IntentMatch("alarm.when", {}, 0.9, n)
        moment = when.next_time(now, clock, day, kind="alarm", default_hour=7)
        if moment is None:
            return IntentMatch("alarm.when", {}, 0.9, n)
        repeat = ",".join(map(str, day.repeat)) if day is not None and day.repeat else ""
        local = f"{moment.hour:02d}:{moment.minute:02d}" if repeat else ""
        return IntentMatch(
            "alarm.set", {"due": str(moment.timestamp()), "repeat": repeat, "local": local}, 0.95, n
        )

    def _timer_left(self, n: str, _text: str) -> IntentMatch | None:
        m = _TIMER_LEFT.match(n)
        if m is None:
            return None
        name = m["name"] or m["name2"] or ""
        if name and "timer" not in name and not self._timer_names(name):
            return None
        if not name and not self.store.items("timer"):
            return IntentMatch("timer.left", {"name": ""}, 0.9, n) if n != "how long" else None
        return IntentMatch("timer.left", {"name": name}, 0.95, n)

    def _timer_adjust(self, n: str, _text: str) -> IntentMatch | None:
        m = _TIMER_ADJUST.match(re.sub(r" (?:more|extra|additional)\b", "", n))
        if m is None or "timer" not in m["name"] or (d := when.duration(m["d"])) is None:
            return None
        sign = -1 if m["v"] in ("take", "remove", "subtract") or m["p"] in ("off", "from") else 1
        return IntentMatch("timer.adjust", {"seconds": str(sign * d[0]), "name": m["name"]}, 0.95, n)

    def _timer_pause(self, n: str, _text: str) -> IntentMatch | None:
        m = _TIMER_PAUSE.match(n)
        if m is None:
            return None
        op = "pause" if m["v"] in ("pause", "hold") else "resume"
        return IntentMatch(f"timer.{op}", {"name": m["name"]}, 0.95, n)

    def _cancel(self, n: str, _text: str) -> IntentMatch | None:
        m = _CANCEL.match(n)
        if m is None:
            return None
        target = m["name"]
        kind = next((k for k in ("timer", "alarm", "reminder") if re.search(rf"\b{k}s?\b", target)), None)
        if kind is None or (kind == "alarm" and not self.store.items("alarm")):
            return None  # no alarm clock set: "turn off the alarm" may be the house's alarm panel
        if kind == "alarm" and not re.search(r"\b(?:my|all|the|every|next)\b.*\balarm|^alarm", target):
            return None
        return IntentMatch(
            f"{kind}.cancel",
            {"name": target, "all": "1" if re.search(r"\b(?:all|every)\b", target) else ""},
            0.95,
            n,
        )

    def _timer_set(self, n: str, _text: str) -> IntentMatch | None:
        m = _TIMER_SET.match(n)
        if m is None or n.startswith(("how", "what", "is ", "are ", "when", "why")):
            return None
        rest = m["rest"]
        found = when.duration(rest)
        if found is None:
            if re.fullmatch(r"(?:a |an |the )?(?:new )?(?:[a-z]+ )?timer", rest):
                return IntentMatch("timer.how_long", {}, 0.9, n)
            return None
        seconds, span = found
        words = (rest[: span.start] + " " + rest[span.end :]).split()
        name = " ".join(w for w in words if w not in _DROP and not w.isdigit())
        return IntentMatch("timer.set", {"seconds": str(seconds), "name": name}, 0.95, n)

    # -- acting --------------------------------------------------------------------------------
    async def handle(self, match: IntentMatch, turn: Turn) -> IntentReply:
        kind, _, op = match.intent.partition(".")
        if not self.rings and op in ("set", "snooze", "adjust", "resume"):
            return IntentReply(
                f"I can only ring a {kind} while the homeplm daemon runs; start it "
                "(sudo systemctl start homeplm) and ask again."
            )
        handler = getattr(self, f"_do_{kind}_{op}")
        reply: IntentReply = handler(match.slots, turn)
        return reply

    def _do_ring_stop(self, slots: Mapping[str, str], turn: Turn) -> IntentReply:
        self.stop_ringing()
        return IntentReply("", data={"action": "stop"})

    def _do_timer_how_long(self, slots: Mapping[str, str], turn: Turn) -> IntentReply:
        self._asked, self._asked_at = "duration", self.utterances
        return IntentReply("For how long?")

    def _do_timer_set(self, slots: Mapping[str, str], turn: Turn) -> IntentReply:
        seconds = float(slots["seconds"])
        if not 1 <= seconds <= MAX_TIMER_S:
            return IntentReply("I can set timers from one second to 24 hours.")
        name = slots.get("name", "")
        now = self.clock()
        self.store.add(
            Item(
                0,
                "timer",
                name=name,
                due=now + seconds,
                duration=seconds,
                speaker=turn.speaker or "",
                room=turn.room or "",
            )
        )
        label = f"{name.capitalize()} timer" if name else "Timer"
        return IntentReply(f"{label} set for {when.say_duration(seconds)}.")

    def _do_timer_left(self, slots: Mapping[str, str], turn: Turn) -> IntentReply:
        timers = self._named(slots.get("name", ""), "timer")
        if not timers:
            return IntentReply(
                "There's no timer running." if not slots.get("name") else "I don't have a timer by that name."
            )
        now = self.clock()
        parts = [
            f"{when.say_duration(t.left(now))} {'paused' if t.paused else 'left'} on the {_label(t)}"
            for t in timers[:4]
        ]
        if len(timers) == 1:
            t = timers[0]
            state = "is paused with" if t.paused else "has"
            return IntentReply(f"The {_label(t)} {state} {when.say_duration(t.left(now))} left.")
        return IntentReply("; ".join(p.strip() for p in parts).capitalize() + ".")

    def _do_timer_adjust(self, slots: Mapping[str, str], turn: Turn) -> IntentReply:
        timers = self._named(slots["name"], "timer")
        if len(timers) != 1:
            return self._which(timers, "change")
        timer, change, now = timers[0], float(slots["seconds"]), self.clock()
        left = timer.left(now) + change
        if left <= 0:
            self.store.remove(timer.id)
            return IntentReply(f"That's more than was left; I've stopped the {_label(timer)}.")
        updated = replace(timer, remaining=left) if timer.paused else replace(timer, due=now + left)
        self.store.update(updated)
        return IntentReply(f"The {_label(timer)} now has {when.say_duration(left)} left.")

    def _do_timer_pause(self, slots: Mapping[str, str], turn: Turn) -> IntentReply:
        timers = [t for t in self._named(slots["name"], "timer") if not t.paused]
        if len(timers) != 1:
            return (
                self._which(timers, "pause") if timers else IntentReply("There's no running timer to pause.")
            )
        timer = timers[0]
        self.store.update(replace(timer, due=None, remaining=timer.left(self.clock())))
        return IntentReply(
            f"Paused the {_label(timer)} with {when.say_duration(timer.left(self.clock()))} left."
        )

    def _do_timer_resume(self, slots: Mapping[str, str], turn: Turn) -> IntentReply:
        timers = [t for t in self._named(slots["name"], "timer") if t.paused]
        if len(timers) != 1:
            return self._which(timers, "resume") if timers else IntentReply("There's no paused timer.")
        timer = timers[0]
        self.store.update(replace(timer, due=self.clock() + (timer.remaining or 0), remaining=None))
        return IntentReply(
            f"The {_label(timer)} is running again, {when.say_duration(timer.remaining or 0)} left."
        )

    def _do_timer_cancel(self, slots: Mapping[str, str], turn: Turn) -> IntentReply:
        if "ids" in slots:
            chosen = [t for t in self.store.items("timer") if str(t.id) in slots["ids"].split(_SEP)]
        else:
            chosen = self.store.items("timer") if slots.get("all") else self._named(slots["name"], "timer")
        if not chosen:
            return IntentReply("There's no timer running.")
        if len(chosen) > 1 and not slots.get("all") and "ids" not in slots:
            return self._which(chosen, "cancel")
        self.store.remove(*(t.id for t in chosen))
        if len(chosen) == 1:
            return IntentReply(f"Cancelled the {_label(chosen[0])}.")
        return IntentReply(f"Cancelled all {len(chosen)} timers.")

    def _which(self, timers: list[Item], verb: str) -> IntentReply:
        if not timers:
            return IntentReply("I don't have a timer by that name.")
        self._asked, self._asked_at = "which:" + _SEP.join(str(t.id) for t in timers), self.utterances
        labels = [f"the {_label(t)}" for t in timers[:4]]
        return IntentReply(f"Which one: {', '.join(labels[:-1])} or {labels[-1]}?")

    def _do_alarm_set(self, slots: Mapping[str, str], turn: Turn) -> IntentReply:
        due = float(slots["due"])
        self.store.add(
            Item(
                0,
                "alarm",
                due=due,
                repeat=slots["repeat"],
                local_time=slots["local"],
                speaker=turn.speaker or "",
                room=turn.room or "",
            )
        )
        moment = datetime.fromtimestamp(due, self.zone)
        if slots["repeat"]:
            return IntentReply(f"Alarm set for {when.say_time(moment, moment)} {_days(slots['repeat'])}.")
        return IntentReply(f"Alarm set for {when.say_time(moment, self._now())}.")

    def _do_alarm_when(self, slots: Mapping[str, str], turn: Turn) -> IntentReply:
        return IntentReply("For what time? Say, for example, set an alarm for 7 am.")

    def _do_alarm_snooze(self, slots: Mapping[str, str], turn: Turn) -> IntentReply:
        rang = self.ringing()
        if rang is None or rang.kind == "timer":
            return IntentReply("There's no alarm to snooze.")
        self.stop_ringing()
        seconds = float(slots["seconds"])
        self.store.add(
            Item(
                0,
                rang.kind,
                name=rang.name,
                text=rang.text,
                due=self.clock() + seconds,
                speaker=rang.speaker,
                room=rang.room,
            )
        )
        return IntentReply(f"Snoozing for {when.say_duration(seconds)}.")

    def _do_alarm_list(self, slots: Mapping[str, str], turn: Turn) -> IntentReply:
        return self._list_of("alarm", slots)

    def _do_timer_list(self, slots: Mapping[str, str], turn: Turn) -> IntentReply:
        timers = self.store.items("timer")
        if not timers:
            return IntentReply("There's no timer running.")
        return self._do_timer_left({"name": ""}, turn)

    def _do_reminder_list(self, slots: Mapping[str, str], turn: Turn) -> IntentReply:
        return self._list_of("reminder", slots)

    def _list_of(self, kind: str, slots: Mapping[str, str]) -> IntentReply:
        items = self.store.items(kind)
        if not items:
            return IntentReply(f"You have no {kind}s.")
        now = self._now()
        said = [_describe(i, self.zone, now) for i in items[: 1 if slots.get("next") else 5]]
        if slots.get("next"):
            return IntentReply(f"Your next {kind} is {said[0]}.")
        more = f", and {len(items) - 5} more" if len(items) > 5 else ""
        head = f"You have {len(items)} {kind}{'s' if len(items) > 1 else ''}: "
        return IntentReply(head + "; ".join(said) + more + ".")

    def _do_alarm_cancel(self, slots: Mapping[str, str], turn: Turn) -> IntentReply:
        return self._cancel_timed("alarm", slots)

    def _do_reminder_cancel(self, slots: Mapping[str, str], turn: Turn) -> IntentReply:
        return self._cancel_timed("reminder", slots)

    def _cancel_timed(self, kind: str, slots: Mapping[str, str]) -> IntentReply:
        items = self.store.items(kind)
        if not items:
            return IntentReply(f"You have no {kind}s.")
        words = set(slots["name"].split()) - {
            "my",
            "the",
            "all",
            "every",
            "next",
            kind,
            f"{kind}s",
            "for",
            "at",
            "to",
            "about",
        }
        if not slots.get("all") and words:
            items = [
                i
                for i in items
                if words & set(f"{i.text} {_describe(i, self.zone, self._now())}".lower().split())
            ] or items[:1]
        elif not slots.get("all"):
            items = items[:1]
        self.store.remove(*(i.id for i in items))
        if len(items) == 1:
            return IntentReply(f"Cancelled the {kind} {_describe(items[0], self.zone, self._now())}.")
        return IntentReply(f"Cancelled {len(items)} {kind}s.")

    def _do_reminder_set(self, slots: Mapping[str, str], turn: Turn) -> IntentReply:
        due, what = float(slots["due"]), _second_person(slots["what"])
        self.store.add(
            Item(0, "reminder", text=what, due=due, speaker=turn.speaker or "", room=turn.room or "")
        )
        moment = datetime.fromtimestamp(due, self.zone)
        to = what if what.startswith("about ") else f"to {what}"
        if slots.get("said") == "in":
            return IntentReply(f"Okay, in {when.say_duration(due - self.clock())} I'll remind you {to}.")
        return IntentReply(f"Okay, I'll remind you {to} at {when.say_time(moment, self._now())}.")

    def _do_reminder_when(self, slots: Mapping[str, str], turn: Turn) -> IntentReply:
        return IntentReply(
            "When should I remind you? Say, for example, remind me at 6 pm to water the plants."
        )

    # -- helpers ------------------------------------------------------------------------------
    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), self.zone)

    def _timer_names(self, said: str) -> list[Item]:
        return self._by_name(said, self.store.items("timer"))

    def _named(self, said: str, kind: str) -> list[Item]:
        items = self.store.items(kind)
        if not said or re.fullmatch(r"(?:the |my |that |this )?(?:timer|it|one)", said.strip()):
            return items
        return self._by_name(said, items)

    @staticmethod
    def _by_name(said: str, items: list[Item]) -> list[Item]:
        words = set(said.split()) - {"the", "my", "timer", "one", "on", "a", "an", "minute", "for"}
        if not words:
            return items
        named = [i for i in items if words & set(i.name.split())]
        if named:
            return named
        return [i for i in items if words & set(_label(i).replace("-", " ").split())]


def _label(timer: Item) -> str:
    """ "rice timer", or for one without a name its length: "12-minute timer", "90-second timer"."""
    if timer.name:
        return f"{timer.name} timer"
    seconds = int(timer.duration or 0)
    if seconds < 120 and seconds % 60:
        return f"{seconds}-second timer"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}-hour timer"
    return f"{round(seconds / 60)}-minute timer"


def _days(repeat: str) -> str:
    days = tuple(int(d) for d in repeat.split(","))
    if days == (0, 1, 2, 3, 4):
        return "on weekdays"
    if days == (5, 6):
        return "at weekends"
    if len(days) == 7:
        return "every day"
    return "every " + " and ".join(when.WEEKDAYS[d].capitalize() for d in days)


def _describe(item: Item, zone: tzinfo, now: datetime) -> str:
    moment = datetime.fromtimestamp(item.due or 0, zone)
    at = when.say_time(moment, now) if item.due else "paused"
    if item.kind == "reminder":
        return f"{item.text if item.text.startswith('about ') else 'to ' + item.text} at {at}"
    if item.repeat:
        return f"at {when.say_time(moment, moment)} {_days(item.repeat)}"
    return f"at {at}"


def _second_person(what: str) -> str:
    """ "water my plants" is said back as "water your plants"."""
    swaps = {
        "my": "your",
        "i": "you",
        "me": "you",
        "mine": "yours",
        "myself": "yourself",
        "our": "your",
        "we": "you",
    }
    return " ".join(swaps.get(w, w) for w in what.split())
