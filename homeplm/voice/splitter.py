"""Cuts streamed LLM text into sentences, so speech can start before the answer is complete."""

from __future__ import annotations

import re
from collections.abc import Iterator

# A sentence ends at . ! ? … (optionally followed by quotes/brackets) and then whitespace.
_BOUNDARY = re.compile(r"""(?<=[.!?…])["')\]]*\s+""")
# Abbreviations that end in a period but do not end a sentence.
_ABBREVIATIONS = frozenset(
    {
        "mr.",
        "mrs.",
        "ms.",
        "dr.",
        "st.",
        "vs.",
        "etc.",
        "e.g.",
        "i.e.",
        "no.",
        "approx.",
        "jr.",
        "sr.",
    }
)
# A clause ends at , ; : and then whitespace (used only to start speaking sooner, see below).
_CLAUSE = re.compile(r"(?<=[,;:])\s+")
_MARKDOWN = re.compile(r"[*_`#>]+")
_LIST_MARK = re.compile(r"^\s*(?:[-•]|\d+[.)])\s+", re.MULTILINE)


def clean_for_speech(text: str) -> str:
    """Drop markdown and list markers a TTS would read out, and squeeze whitespace."""
    text = _LIST_MARK.sub("", text)
    text = _MARKDOWN.sub("", text)
    return " ".join(text.split())


class SentenceSplitter:
    """push() text deltas, get back complete sentences; flush() returns the rest."""

    def __init__(self, min_chars: int = 12, first_clause_chars: int | None = 40) -> None:
        # Very short "sentences" (e.g. "Yes.") are joined to the next one: fewer, smoother TTS calls.
        self.min_chars = min_chars
        # The first piece may end at a comma once it is this long: speech starts while the rest of
        # a long first sentence is still being written. None: whole sentences only.
        self.first_clause_chars = first_clause_chars
        self._buffer = ""
        self._emitted = False

    def push(self, delta: str) -> Iterator[str]:
        self._buffer += delta
        if not self._emitted and self.first_clause_chars is not None:
            yield from self._first_clause()
        yield from self._sentences()

    def _first_clause(self) -> Iterator[str]:
        limit = self.first_clause_chars or 0
        for match in _CLAUSE.finditer(self._buffer):
            if match.start() >= limit and not _BOUNDARY.search(self._buffer[: match.start()]):
                clause = clean_for_speech(self._buffer[: match.end()])
                self._buffer = self._buffer[match.end() :]
                self._emitted = True
                yield clause
                return

    def _sentences(self) -> Iterator[str]:
        start = 0
        for match in _BOUNDARY.finditer(self._buffer):
            candidate = self._buffer[start : match.start()]
            if self._is_abbreviation(candidate) or len(candidate.strip()) < self.min_chars:
                continue
            sentence = clean_for_speech(self._buffer[start : match.end()])
            start = match.end()
            if sentence:
                self._emitted = True
                yield sentence
        # Paragraph breaks also end a sentence (lists, headings).
        self._buffer = self._buffer[start:]
        if "\n\n" in self._buffer:
            head, _, self._buffer = self._buffer.rpartition("\n\n")
            if cleaned := clean_for_speech(head):
                yield cleaned

    def flush(self) -> Iterator[str]:
        rest, self._buffer = self._buffer, ""
        if cleaned := clean_for_speech(rest):
            yield cleaned

    @staticmethod
    def _is_abbreviation(candidate: str) -> bool:
        words = candidate.split()
        return bool(words) and words[-1].lower() in _ABBREVIATIONS
