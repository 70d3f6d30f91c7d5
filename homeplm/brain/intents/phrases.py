"""Matching a normalised utterance against a fixed set of phrasings: exact, contained, or close.

Precision comes first: a wrong fast answer ("It's 7:45 PM." to "what's the tide") is worse than the
language model answering a bit later. So a phrase found *inside* a longer utterance only counts when
every other word is a harmless extra ("now", "please"…), and the fuzzy fallback (difflib, for word
order and dropped words) only runs on short utterances made entirely of the set's own words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from homeplm.brain.intents.normalise import normalise

CONTAINED_SCORE = 0.95
FUZZY_RATIO = 0.85
FUZZY_MAX_WORDS = 8


@dataclass(frozen=True, slots=True)
class PhraseHit:
    """A phrase pattern that matched a text, with its slots."""

    phrase: str  # the normalised phrase from the set
    score: float  # 1.0 exact, CONTAINED_SCORE contained, else the difflib ratio


@dataclass(frozen=True, slots=True)
class PhraseSet:
    """Phrasings of one intent, written naturally and normalised once, at construction."""

    phrases: tuple[str, ...]
    extras: frozenset[str] = frozenset()  # words allowed around a contained phrase
    exclude: frozenset[str] = frozenset()  # near misses that must never match ("what is time")
    vocabulary: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        # Longest first, so the reported phrase is the most specific one contained.
        phrases = sorted({p for p in map(normalise, self.phrases) if p}, key=lambda p: (-len(p), p))
        object.__setattr__(self, "phrases", tuple(phrases))
        object.__setattr__(self, "exclude", frozenset(map(normalise, self.exclude)))
        words = {w for p in phrases for w in p.split()}
        object.__setattr__(self, "vocabulary", frozenset(words | self.extras))

    @classmethod
    def of(cls, phrases: Iterable[str], extras: Iterable[str] = (), exclude: Iterable[str] = ()) -> PhraseSet:
        return cls(tuple(phrases), frozenset(extras), frozenset(exclude))

    def match(self, normalised: str) -> PhraseHit | None:
        """The best way `normalised` says one of the phrases, or None."""
        if not normalised or normalised in self.exclude:
            return None
        if normalised in self.phrases:
            return PhraseHit(normalised, 1.0)
        return self._contained(normalised) or self._fuzzy(normalised)

    def _contained(self, normalised: str) -> PhraseHit | None:
        padded = f" {normalised} "
        for phrase in self.phrases:
            at = padded.find(f" {phrase} ")
            if at < 0:
                continue
            rest = (padded[:at] + padded[at + len(phrase) + 1 :]).split()
            if all(word in self.extras for word in rest):
                return PhraseHit(phrase, CONTAINED_SCORE)
        return None

    def _fuzzy(self, normalised: str) -> PhraseHit | None:
        words = normalised.split()
        if len(words) > FUZZY_MAX_WORDS or not all(word in self.vocabulary for word in words):
            return None
        matcher = SequenceMatcher(autojunk=False)
        matcher.set_seq2(normalised)  # difflib caches facts about seq2: the utterance
        best: PhraseHit | None = None
        for phrase in self.phrases:
            matcher.set_seq1(phrase)
            if matcher.real_quick_ratio() < FUZZY_RATIO or matcher.quick_ratio() < FUZZY_RATIO:
                continue
            ratio = matcher.ratio()
            if ratio >= FUZZY_RATIO and (best is None or ratio > best.score):
                best = PhraseHit(phrase, ratio)
        return best
