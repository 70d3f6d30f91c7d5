"""A model's words made fit to be heard: they pass `SpokenReply` before they are spoken.

Tried by a household, a tiny model read its system prompt back ("You're Jarvis, the voice assistant
of…"), echoed the memory header, said "as an AI language model…", offered condolences to a plain
question, spoke markdown and emoji, and rambled. This filter catches what the prompt cannot and
counts it by kind: readbacks of the prompt (most of a sentence's words in word 3-grams of it), the
memory header, "Question:" and role labels (after "User:" or a chat-template token: nothing more),
"as an AI…", unasked-for condolences, "I hope this helps"; markdown, emoji and URLs are removed, a
list is read as a sentence; at most `max_sentences` are said; with nothing left, "I'm not sure".

It replaces action claims as well (claims.py), so the reply is cut into clauses once. A clause is
given out as soon as it is complete (the TTS may start at a long first clause), unless it may be a
readback, which is known only when its sentence ends.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from homeplm.brain.claims import HONEST, claims_action

FALLBACK = "I'm not sure about that."
DEFAULT_MAX_SENTENCES = 2
READBACK_SHARE = 0.6  # of a sentence's words inside word 3-grams of the system prompt

_I = re.IGNORECASE
# --- line starts: list items, headings, code fences, quotes, the memory header ---------------
_ITEM = re.compile(r"[ \t]*(?:[-*+•]|\d{1,2}[.)])[ \t]+")
_HEADING = re.compile(r"[ \t]*#{1,6}(?:[ \t]|$)")
_FENCE = re.compile(r"[ \t]*```")
_QUOTE = re.compile(r"[ \t]*>[ \t]?")
_HEADER = "what you know about this household"  # llm_route.with_memories
_HEADER_AT = re.compile(rf"[ \t*_]*{_HEADER}\s*:?[ \t]*", _I)
# A line start that may still turn out to be one of the above (wait for more text).
_UNDECIDED = re.compile(r"[ \t]*(?:[-*+•]|\d{1,2}[.)]?|#{1,6}|`{1,2})?[ \t]*")
_TURN_HEADING = re.compile(r"[ \t]*#+[ \t]*(?:user|human|instruction|input|question)\b", _I)
# --- clauses -------------------------------------------------------------------------------------
_GAP = re.compile(r"(?<=[.!?…,;:\"'”’)\]])\s+|\s*\n\s*")
_ENDS = re.compile(r"[.!?…][\"'”’)\]]*$")
_CLAUSE_END = re.compile(r"[.!?…,;:][\"'”’)\]]*$")
_OPEN_END = re.compile(r"[,;:][\"'”’)\]]*$")
_WORD = re.compile(r"\w")
_ABBREVIATION = re.compile(
    r"(?:^|\s)(?:mrs?|ms|dr|st|vs|etc|no|approx|jr|sr|prof|mt|[a-z]|(?:[a-z]\.){1,3}[a-z])\.$", _I
)
_STOP_TOKEN = re.compile(r"<\|[a-z_]+\|>|<(?:end|start)_of_turn>|</s>")  # chat-template markers
_NEXT_TURN = re.compile(r"^(?:user|human|system|instruction|input)\s*:", _I)
_LABEL = re.compile(r"^(?:assistant|answer|response|a|ai|bot)\s*:\s*", _I)
_HEADER_CLAUSE = re.compile(rf"^{_HEADER}\b\W*", _I)
_SCAFFOLD = re.compile(r"^(?:question\s*:|q\s*:|earlier someone asked\b)", _I)  # drops the sentence
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"(?:https?://|www\.)[^\s)\]>]*[^\s)\]>.,;:!?]", _I)
_DANGLING = re.compile(r"\b(?:at|on|to|visit|see|here|from|via|out|website|site|link|page)\W*$", _I)
_MARKUP = re.compile(r"\*+|`+|~~|(?<!\w)_+|_+(?!\w)|(?<!\w)#+|</?[a-z][^>]*>|[|•]", _I)
_EMOTICON = re.compile(r"(?<!\w)[:;]-?[)(DPp](?!\w)")
_DROP_MARKS = frozenset("\u200d\ufe0e\ufe0f\u20e3")
# --- what is not said (matched at a clause's start) ------------------------------------------------
_AI = r"(?:an?\s+)?(?:ai|a\.i\.|artificial intelligence|(?:large\s+)?language model|llm|chatbot)"
_AI_PREFIX = re.compile(
    rf"^(?:well,?\s+)?(?:as|being)\s+{_AI}(?:\s+(?:language\s+)?(?:model|assistant))?\b,?\s*", _I
)
_AI_SELF = re.compile(
    rf"^(?:but\s+|and\s+)?(?:i'm|i am)\s+(?:just\s+|only\s+|merely\s+|simply\s+|not\s+)?(?:{_AI}\b|"
    r"(?:a\s+)?(?:machine|human|person|real person)\b|capable of (?:feeling|emotion))"
    r"|^(?:but\s+|and\s+)?i\s+(?:do not|don't|cannot|can't)\s+(?:have|experience|feel|hold)\s+(?:any\s+)?"
    r"(?:personal|feelings|emotions|opinions|beliefs|preferences|a body|consciousness)",
    _I,
)
_SORRY = r"^(?:i'm|i am)\s+(?:so\s+|very\s+|truly\s+|deeply\s+|really\s+)?sorry\s+"
_CONDOLENCE = re.compile(
    rf"{_SORRY}(?:for|about)\s+your\s+loss|{_SORRY}to\s+hear\b"
    r"|^(?:please accept\s+)?my\s+(?:deepest\s+|sincere\s+|heartfelt\s+)?(?:condolences|sympathies)",
    _I,
)
_SAD = re.compile(  # a question after which "I'm sorry to hear that" may be right
    r"\b(?:die[sd]?|dead|death|dying|passed|lost|loss|losing|funeral|grie\w*|mourn\w*|sick|ill\w*|cancer|"
    r"hospital|hurt|injur\w*|accident|sad|depress\w*|lonely|divorc\w*|fired|broken?|stolen|wrong|problem|"
    r"worried|scared|afraid|pain|bad|tired|stress\w*|miss(?:ing)?)\b",
    _I,
)
_FILLER = re.compile(
    r"^(?:i hope (?:this|that|it|my answer) (?:helps|answers|was helpful|is helpful)|hope this helps|"
    r"let me know if|feel free to|don't hesitate to|if you have any (?:other|more|further) questions|"
    r"is there anything else (?:i can|you)|happy to help|glad i could help)",
    _I,
)
_CONTRAST = re.compile(r"^(?:but|however|though|although|yet|still|that said|instead|so)\b,?\s*", _I)
# Questions about the assistant itself, which "I'm Jarvis, the voice assistant of…" may answer.
_ABOUT_ME = re.compile(
    r"\b(?:who|what) are you\b|\byour name\b|\byourself\b|\bwhat can you do\b|\bwhere do you\b|\bprivate|"
    r"\bprivacy\b|\bcloud\b|\bare you (?:an?\s+)?(?:ai|robot|real|human|listening|recording|online)\b",
    _I,
)
_FIRST_PERSON = re.compile(r"^(?:i|i'm|i am|my|we|we're|our)\b", _I)


def _words(text: str) -> list[str]:
    """Lower-case words with contractions opened and persons merged ("You're" and "I'm": "P be")."""
    out: list[str] = []
    for word in re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower().replace("’", "'")):
        base, _, tail = word.partition("'")
        if tail == "t" and base.endswith("n"):
            out += [{"won": "will", "can": "can", "ain": "be"}.get(base, base[:-1]), "not"]
            continue
        out.append(base if tail else word)
        if tail in ("re", "m") or (tail == "s" and base in ("it", "that", "there", "he", "she", "what")):
            out.append("be")
        elif tail in ("ll", "ve", "d"):
            out.append({"ll": "will", "ve": "have", "d": "would"}[tail])
    persons = {"i": "P", "you": "P", "we": "P", "they": "P", "me": "P", "us": "P", "them": "P"}
    persons |= {"my": "Pz", "your": "Pz", "our": "Pz", "their": "Pz", "am": "be", "are": "be", "is": "be"}
    return [persons.get(w, w[:-1] if len(w) > 3 and w[-1] == "s" != w[-2] else w) for w in out]


_STOPWORDS = frozenset(("P", "Pz", "be", "the", "a", "an", "of", "in", "on", "to", "and", "or", "it", "that"))


@functools.lru_cache(maxsize=8)
def _prompt_grams(prompts: tuple[str, ...]) -> frozenset[tuple[str, ...]]:
    grams: set[tuple[str, ...]] = set()
    for prompt in prompts:
        words = _words(prompt)
        grams.update(tuple(words[i : i + 3]) for i in range(len(words) - 2))
    return frozenset(grams)


def prompt_overlap(text: str, grams: frozenset[tuple[str, ...]]) -> tuple[float, int]:
    """The share of `text`'s words inside 3-grams of the prompt, and how many telling 3-grams match."""
    words = _words(text)
    covered: set[int] = set()
    hits = 0
    for i in range(len(words) - 2):
        gram = tuple(words[i : i + 3])
        if gram in grams:
            covered.update((i, i + 1, i + 2))
            hits += any(w not in _STOPWORDS for w in gram)
    return (len(covered) / len(words) if words else 0.0), hits


def _speakable(text: str) -> tuple[str, int]:
    """`text` without emoji and other symbols a TTS reads oddly; also how many runs were removed."""
    out, runs, dropping = [], 0, False
    for char in _EMOTICON.sub(" \u2063 ", text):
        category = unicodedata.category(char)
        drop = char != "°" and (
            category in ("So", "Co", "Cs", "Cf") or char in _DROP_MARKS or 0x2190 <= ord(char) <= 0x21FF
        )
        drop = drop or (category == "Sk" and ord(char) >= 0x1F3FB)
        runs += drop and not dropping
        dropping = drop or (dropping and char.isspace())
        out.append(" " if drop else char)
    return "".join(out), runs


def join_items(items: list[str]) -> str:
    """List items as speech: short ones as one sentence ("Apples, pears, and plums."), longer ones
    (steps, tips) each as a sentence of its own."""
    if any(len(item.split()) >= 5 for item in items):
        return " ".join(item if _ENDS.search(item) else item.rstrip(" ,;:") + "." for item in items)
    parts = [p for p in (item.rstrip(" .,;:!?") for item in items) if p]
    if len(parts) > 2:
        parts = [", ".join(parts[:-1]) + ",", parts[-1]]
    return " and ".join(parts) + "." if parts else ""


@dataclass
class _Sentence:
    """What is known about the sentence being said."""

    held: list[tuple[str, str]] = field(default_factory=list)  # (clause, gap): a readback, maybe
    kinds: set[str] = field(default_factory=set)  # what was caught in it (each counts once)
    drop_rest: str | None = None  # "all", or "contrast": up to a "but…"
    dropped: bool = False  # something of it was left out
    said: bool = False  # something of it was said
    cut: bool = False  # there was something to say after the last sentence allowed


class SpokenReply:
    """Feed a model's deltas with push(); get back what may be said. flush() at the end."""

    def __init__(
        self, question: str = "", prompts: Iterable[str] = (), max_sentences: int = DEFAULT_MAX_SENTENCES
    ) -> None:
        self.max_sentences = max(1, max_sentences)
        self.caught: Counter[str] = Counter()  # kind → how many
        self.claims_caught = 0
        self.dropped: list[tuple[str, str]] = []  # (kind, text): for a DEBUG log, never INFO
        self._grams = _prompt_grams(tuple(p for p in prompts if p))
        self._sad = _SAD.search(question) is not None
        self._about_me = _ABOUT_ME.search(question) is not None
        self._raw = ""  # text not yet sorted into lines
        self._kind: str | None = None  # the current line's kind; None at a line start
        self._items: list[str] = []
        self._skip_items = self._in_code = False
        self._text = ""  # clean text not yet cut into clauses
        self._out: list[str] = []
        self._said = self._stopped = self._capped = False
        self._sentences = 0
        self._s = _Sentence()

    @property
    def done(self) -> bool:
        """Nothing more will be said, whatever follows."""
        return self._stopped or self._capped

    def push(self, delta: str) -> list[str]:
        self._raw += delta
        self._lines(final=False)
        out, self._out = self._out, []
        return out

    def flush(self) -> list[str]:
        self._lines(final=True)
        self._flush_items()
        self._split(final=True)
        if not self._stopped:
            self._end_sentence()
        if not self._said and (self.caught or self.claims_caught):
            self._add("fallback")
            self._out.append(FALLBACK)
        out, self._out = self._out, []
        return out

    def _add(self, kind: str, n: int = 1) -> None:
        if n:
            self.caught[kind] += n

    def _catch(self, kind: str, text: str) -> None:
        if kind not in self._s.kinds:
            self._s.kinds.add(kind)
            self._add(kind)
        self.dropped.append((kind, text))

    # --- lines: lists, headings and code show only at a line's start -----------------------------
    def _lines(self, *, final: bool) -> None:
        while self._raw and not self._stopped:
            newline = self._raw.find("\n")
            line = self._raw if newline < 0 else self._raw[: newline + 1]
            complete = newline >= 0 or final
            if self._kind is None:
                if not self._start_line(line.rstrip("\n"), complete):
                    return
                continue  # the line's marker may have been taken off
            if self._kind != "text" and not complete:
                return
            self._raw = self._raw[len(line) :]
            if self._kind == "text":
                self._feed(line)
            else:
                self._end_line(line.strip())
            if line.endswith("\n"):
                self._kind = None

    def _start_line(self, head: str, complete: bool) -> bool:
        """Decide what the line starting with `head` is; False: wait for more of it."""
        bare = head.lstrip(" \t*_").lower()
        if not complete and (_UNDECIDED.fullmatch(head) or _HEADER.startswith(bare)):
            return False
        if not head.strip():
            self._kind = "blank"
        elif _FENCE.match(head) or self._in_code:
            self._kind = "code"
        elif item := _ITEM.match(head):
            self._kind = "item"
            self._raw = self._raw[item.end() :]
        elif _HEADING.match(head):
            self._kind = "heading"
        else:
            self._kind = "text"
            self._flush_items()
            self._skip_items = False
            if header := _HEADER_AT.match(head):  # the memories follow as a list: not read out
                self._catch("scaffolding", header.group())
                self._raw = self._raw[header.end() :]
                self._skip_items = True
            elif quote := _QUOTE.match(head):
                self._raw = self._raw[quote.end() :]
                self._add("markup")
        return True

    def _end_line(self, line: str) -> None:
        fence = _FENCE.match(line) is not None
        if self._kind == "blank" and not self._items:
            self._feed("\n")
        elif self._kind == "code":
            self._add("markup", fence and not self._in_code)
            self._in_code = self._in_code != fence
        elif self._kind == "heading" and _TURN_HEADING.match(line):
            self._catch("scaffolding", line)
            self._stop()
        elif self._kind == "heading":
            self._add("markup")
        elif self._kind == "item" and line:
            if self._skip_items or _SCAFFOLD.match(line) or _HEADER_CLAUSE.match(line) or _FILLER.match(line):
                self.dropped.append(("list_item", line))
            else:
                self._items.append(line)

    def _flush_items(self) -> None:
        if self._items and (text := join_items(self._items)):
            self._add("list")
            self._feed(text + "\n")
        self._items = []

    def _stop(self) -> None:
        self._stopped = True
        self._raw = self._text = ""
        self._items = []

    # --- clauses: said as soon as complete, unless they may read the prompt back ----------------
    def _feed(self, text: str) -> None:
        self._text += text
        self._split(final=False)

    def _split(self, *, final: bool) -> None:
        start = 0
        for gap in _GAP.finditer(self._text):
            clause = self._text[start : gap.start()]
            hard = "\n" in gap.group()
            if not hard and (not _CLAUSE_END.search(clause) or _ABBREVIATION.search(clause)):
                continue  # a quote that ends no clause, or "Dr." and "e.g."
            start = gap.end()
            self._clause(clause, hard=hard, gap=" ")
            if self._stopped:
                return
        self._text = self._text[start:]
        if final and self._text.strip():
            rest, self._text = self._text, ""
            self._clause(rest, hard=True, gap="")

    def _clause(self, raw: str, *, hard: bool, gap: str) -> None:
        if not (text := raw.strip()):
            return  # a line break after a gap already seen: nothing ends here
        if token := _STOP_TOKEN.search(text):
            text = text[: token.start()].strip()
        # Where a sentence ends is read from the text as written, as the clauses were cut.
        open_end = _OPEN_END.search(text) is not None
        ends = token is not None or _ENDS.search(text) is not None or (hard and not open_end)
        text = text if self._capped else self._clean(text)
        stop = token is not None or _NEXT_TURN.match(text) is not None
        if stop:  # the model goes on to write the next turn itself
            self._catch("scaffolding", raw.strip())
            text, ends = (text if token else ""), True
        if label := _LABEL.match(text):
            self._catch("scaffolding", label.group())
            text = text[label.end() :]
        if self._capped:
            self._s.cut = self._s.cut or _WORD.search(text) is not None
        elif not _WORD.search(text) or self._s.drop_rest == "all":
            self.dropped.append(("rest", text))
        elif scaffold := _SCAFFOLD.match(text) or _HEADER_CLAUSE.match(text):
            self._catch("scaffolding", text)
            if scaffold.re is _SCAFFOLD:  # a question read back: the rest of its sentence too
                self._s.drop_rest = "all"
            elif rest := text[scaffold.end() :]:
                self._hold(rest, gap, ends)
        else:  # a line break ends a sentence: a full stop tells the TTS so
            stop_mark = "." if hard and gap and not open_end and not _ENDS.search(text) else ""
            self._hold(text + stop_mark, gap, ends)
        if ends:
            self._end_sentence()
        if stop:
            self._stop()

    def _clean(self, text: str) -> str:
        text, links = _LINK.subn(r"\1", text)
        text, urls = _URL.subn("", text)
        if urls and _DANGLING.search(text):  # "Read more at https://…." says nothing without it
            text = ""
        text, marks = _MARKUP.subn(" ", text)
        text, emoji = _speakable(text)
        self._add("url", urls > 0)
        self._add("markup", links + marks > 0)
        self._add("emoji", emoji > 0)
        text = re.sub(r"\(\s*\)|\[\s*\]", "", text)
        return re.sub(r"\s+([.,!?;:…])", r"\1", " ".join(text.split()))

    def _hold(self, text: str, gap: str, ends: bool) -> None:
        held = self._s.held
        held.append((text, gap))
        share, hits = prompt_overlap(" ".join(t for t, _ in held), self._grams)
        mine = self._about_me and _FIRST_PERSON.match(held[0][0])  # "I'm Jarvis…" to "who are you?"
        if ends and share >= READBACK_SHARE and hits >= 2 and not mine:
            self._catch("prompt_readback", " ".join(t for t, _ in held))
            self._s.held, self._s.dropped = [], True
            return
        if ends or share < READBACK_SHARE or hits == 0:
            self._s.held = []
            for clause, clause_gap in held:
                share, hits = prompt_overlap(clause, self._grams) if len(held) > 1 else (0.0, 0)
                if share >= READBACK_SHARE and hits >= 2 and not mine:  # a clause on its own
                    self._catch("prompt_readback", clause)
                    self._s.dropped = True
                else:
                    self._say(clause, clause_gap)

    def _say(self, text: str, gap: str) -> None:
        s = self._s
        if s.drop_rest == "all" or (s.drop_rest == "contrast" and not _CONTRAST.match(text)):
            self.dropped.append(("rest", text))
            return
        s.drop_rest = None
        if prefix := _AI_PREFIX.match(text):
            self._catch("ai_disclaimer", prefix.group())
            s.dropped, text = True, text[prefix.end() :]
        probe = text.replace("’", "'")
        kind = "ai_disclaimer" if _AI_SELF.match(probe) else None
        kind = "condolence" if not self._sad and _CONDOLENCE.match(probe) else kind
        kind = "filler" if _FILLER.match(probe) else kind
        if kind is not None:
            self._catch(kind, text)
            s.drop_rest = {"filler": "all", "ai_disclaimer": "contrast"}.get(kind)
        if kind is not None or not _WORD.search(text):
            s.dropped = True
            return
        if claims_action(text):
            self.claims_caught += 1
            if self.claims_caught > 1:
                return
            text = HONEST
        if s.dropped and not s.said:  # "…, but Paris is lovely." → "Paris is lovely."
            text = _CONTRAST.sub("", text, count=1)
            if not _WORD.search(text):  # "However," alone
                return
            text = text[:1].upper() + text[1:]
        self._out.append(text + gap)
        self._said = s.said = True

    def _end_sentence(self) -> None:
        if self._s.held:  # the reply ended mid-sentence: what was held is judged as a whole
            text, gap = self._s.held.pop()
            self._hold(text, gap, ends=True)
        if self._s.said:
            self._sentences += 1
            self._capped = self._sentences >= self.max_sentences
        elif self._s.cut:
            self._add("cut_sentences")
        # After a sentence left out whole, "However, …" is no longer a contrast to anything said.
        self._s = _Sentence(dropped=self._s.dropped and not self._s.said and not self._said)
