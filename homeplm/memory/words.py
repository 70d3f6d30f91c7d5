"""Content words: how the memory matches a topic by its words (forget by topic, word matches)."""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+")
_STOPWORDS = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "be", "by", "do", "does", "for", "from", "has", "have",
        "i", "in", "is", "it", "its", "me", "my", "of", "on", "or", "our", "s", "so", "that", "the",
        "their", "them", "this", "to", "was", "we", "what", "when", "where", "which", "who", "will",
        "with", "you", "your",
    }
)  # fmt: skip


def content_words(text: str) -> list[str]:
    """Lower-case words without stop words, with a plural or possessive `s` trimmed."""
    words = []
    for word in _WORD.findall(text.casefold()):
        if word in _STOPWORDS:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.append(word)
    return words
