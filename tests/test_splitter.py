from homeplm.voice.splitter import SentenceSplitter, clean_for_speech


def split(deltas: list[str], min_chars: int = 12) -> list[str]:
    s = SentenceSplitter(min_chars=min_chars)
    out = [x for d in deltas for x in s.push(d)]
    return out + list(s.flush())


def test_streamed_tokens_make_sentences() -> None:
    tokens = [
        "The cap",
        "ital of France",
        " is Paris.",
        " It is",
        " lovely in spring!",
        " Want more?",
    ]
    assert split(tokens) == [
        "The capital of France is Paris.",
        "It is lovely in spring!",
        "Want more?",
    ]


def test_sentence_emitted_before_the_reply_ends() -> None:
    s = SentenceSplitter()
    assert list(s.push("The light is on now. Anything")) == ["The light is on now."]
    assert list(s.flush()) == ["Anything"]


def test_abbreviations_and_decimals_do_not_split() -> None:
    assert split(["Dr. Smith lives at 3.5 Main St. in town. Yes it is true."]) == [
        "Dr. Smith lives at 3.5 Main St. in town.",
        "Yes it is true.",
    ]


def test_short_sentences_are_joined() -> None:
    assert split(["Yes. The door is locked now. Ok."]) == ["Yes. The door is locked now.", "Ok."]


def test_markdown_and_lists_are_cleaned() -> None:
    assert (
        clean_for_speech("**Bold** and `code`\n- item one\n2. item two") == "Bold and code item one item two"
    )


def test_paragraph_break_ends_sentence() -> None:
    assert split(["First part without stop\n\nSecond part"]) == [
        "First part without stop",
        "Second part",
    ]


def test_empty() -> None:
    assert split(["", "  "]) == []


def test_long_first_sentence_starts_at_a_comma_only_once() -> None:
    text = "The capital of France is Paris, a city on the Seine, famous for its museums. Also, it is big."
    assert split([text]) == [
        "The capital of France is Paris, a city on the Seine,",
        "famous for its museums.",
        "Also, it is big.",
    ]


def test_short_first_clause_waits_for_the_sentence() -> None:
    assert split(["Yes, the door is locked now. Anything else?"]) == [
        "Yes, the door is locked now.",
        "Anything else?",
    ]


def test_whole_sentences_only_when_disabled() -> None:
    s = SentenceSplitter(first_clause_chars=None)
    text = "The capital of France is Paris, a city on the Seine, famous for its museums. "
    assert list(s.push(text)) == [text.strip()]


def test_numbers_with_commas_are_not_clauses() -> None:
    text = "The population of the whole city is about 2,100,000 people and growing fast. "
    assert split([text]) == [text.strip()]
