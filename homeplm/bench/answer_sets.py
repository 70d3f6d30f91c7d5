"""The questions the answers benchmark asks each candidate model (`homeplm/bench/answers.py`).

Sets:

- `EVERYDAY`: what a family asks a kitchen voice assistant (sums, kitchen conversions, capitals,
  languages, a word in French or Spanish, science, nature, geography, history, food, the calendar,
  spelling), each with one unambiguous right answer, or with every defensible one accepted.
- `HOUSEHOLD_FACTS`: what the family told the assistant (the words after "remember that").
- `HOUSEHOLD_KNOWN`: questions those facts answer, asked in other words; right only when the told
  detail comes back exactly (the day, the number, the name).
- `HOUSEHOLD_UNKNOWN`: household questions no told fact answers; the only right reply is an honest
  "I don't know" (`DONT_KNOW`), anything else is an invented answer. Questions about a subject
  that is among the facts carry `family="needs_empty"` and are asked only with an empty memory.
- `FORGET_CASES`: (a fact, what "forget what I said about …" names, a question asked afterwards);
  the question must get "I don't know", and the forgotten detail said back is wrong.

How a reply is judged (`judge`): it is right when any `accept` pattern is found in it and no
`reject` pattern is (regular expressions, searched case-insensitively). Accept patterns take the
right answer in any wording a voice reply has (digits or words, "14th of March" or "March 14").
Reject patterns catch a wrong alternative said alongside the right one, or a hedged invention
("I'm not sure, but the code is 1234"); they are written as claims ("Sydney is the capital") so
that a correct reply naming the alternative ("Canberra, not Sydney") is not marked wrong.

Every question has an `example` (a right reply) and some a `wrong` one (a near miss the patterns
must refuse); `self_check()` compiles every pattern and judges both, plus the facts said back word
for word and the brain's own "I don't know" replies.

    python -c "from homeplm.bench.answer_sets import self_check; self_check()"
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

__all__ = [
    "DONT_KNOW",
    "EVERYDAY",
    "FORGET_CASES",
    "HOUSEHOLD_FACTS",
    "HOUSEHOLD_KNOWN",
    "HOUSEHOLD_UNKNOWN",
    "Question",
    "judge",
    "self_check",
]


@dataclass(frozen=True, slots=True)
class Question:
    """A question, the patterns that judge its reply, and a reply known to be right."""

    text: str  # as a person says it to a kitchen voice assistant (spoken style, no typos)
    accept: tuple[str, ...]  # regexes (case-insensitive, searched in the reply); any match = right
    reject: tuple[str, ...] = ()  # regexes that make it wrong even if accepted
    family: str = ""  # "arithmetic", "capital", … (EVERYDAY); "date", "name", … (HOUSEHOLD_KNOWN)
    example: str = ""  # a correct one-sentence reply (self_check judges it right)
    wrong: str = ""  # a plausible wrong reply, or "" (self_check judges it wrong)


def judge(question: Question, reply: str) -> bool:
    """Right when an accepted pattern is found and no rejected one is."""
    found = any(re.search(p, reply, re.IGNORECASE) for p in question.accept)
    return found and not any(re.search(p, reply, re.IGNORECASE) for p in question.reject)


# ---------------------------------------------------------------------------------------------
# Pattern helpers
# ---------------------------------------------------------------------------------------------

_AP = "['’]?"  # an apostrophe, straight or curly, or none ("dont")
_SMALL = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_ORDINALS = (
    "zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
    "eighteenth", "nineteenth",
)  # fmt: skip
_NUMBER_WORDS = "|".join([*_SMALL, *_TENS[2:], "hundred", "thousand"])
_MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december",
)  # fmt: skip
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DIGIT_WORDS = "zero|oh|one|two|three|four|five|six|seven|eight|nine"
_HOURS = "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"


def _words(n: int) -> str:
    """63 → "sixty-three", 625 → "six hundred and twenty-five" (British "and")."""
    if n < 20:
        return _SMALL[n]
    if n < 100:
        tens, unit = divmod(n, 10)
        return _TENS[tens] + (f"-{_SMALL[unit]}" if unit else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_SMALL[hundreds]} hundred" + (f" and {_words(rest)}" if rest else "")
    thousands, rest = divmod(n, 1000)
    joint = " and " if rest < 100 else " "
    return f"{_words(thousands)} thousand" + (f"{joint}{_words(rest)}" if rest else "")


def _word_pattern(words: str) -> str:
    """Spaces or hyphens between the words, "and" optional, "a hundred" for "one hundred"."""
    tokens = words.replace("-", " ").split()
    parts = []
    for i, token in enumerate(tokens):
        if token == "and":
            parts.append(r"(?:[\s-]+and)?")
            continue
        if token == "one" and i == 0 and len(tokens) > 1 and tokens[1] in ("hundred", "thousand"):
            token = "(?:one|a)"
        parts.append((r"[\s-]+" if i else "") + token)
    return "".join(parts)


# Not the end of a bigger number said in words ("sixty" of "sixty-three", "nine" of "nine hundred").
_WORD_BEFORE = r"(?<![\w-])(?<!ty )(?<!hundred )(?<!hundred and )(?<!thousand )(?<!thousand and )"


def _num(n: int, *, decimals: bool = False) -> str:
    """The whole number `n` in digits ("1,000", "1000") or words, and not part of another number.

    With `decimals`, "453.59" and "four hundred and fifty-three point six" count as 453 (an
    approximate conversion); without, "6.3" or "63.5" is not 63.
    """
    digits = f"{n:,}".replace(",", ",?")
    words = _words(n)
    last = words.replace("-", " ").split()[-1]
    after = r"(?![\w-])(?![\s-]+(?:hundred|thousand|million|and\s+a\s+(?:half|quarter)))"
    if not decimals:
        after += r"(?![\s-]+point\b)"
    if last in _TENS:
        after += rf"(?![\s-]+(?:{'|'.join(_SMALL[1:10])})\b)"
    if last in ("hundred", "thousand"):
        after += rf"(?![\s-]+(?:and[\s-]+)?(?:{_NUMBER_WORDS})\b)"
    tail = r"(?:\.\d+)?(?!\d)" if decimals else r"(?![.,]?\d)"
    return rf"(?:(?<!\d)(?<!\d[.,]){digits}{tail}|{_WORD_BEFORE}{_word_pattern(words)}{after})"


def _nums(*values: int, decimals: bool = False) -> str:
    return "|".join(_num(v, decimals=decimals) for v in values)


def _year(n: int) -> str:
    """1945 or "nineteen forty-five"."""
    century, rest = divmod(n, 100)
    said = _word_pattern(f"{_words(century)} {_words(rest)}")
    return rf"(?:(?<!\d){n}(?!\d)|(?<![\w-]){said}(?![\w-])(?![\s-]+(?:{'|'.join(_SMALL[1:10])})\b))"


def _range(low: int, high: int, unit: str) -> str:
    """A number from `low` to `high` (or a range of two of them) before `unit`: "6 minutes",
    "four to six minutes", "6½ minutes"."""
    one = "|".join([*(str(v) for v in range(high, low - 1, -1)), *(_words(v) for v in range(low, high + 1))])
    single = rf"(?:{one})(?:\.5|½|\s+and\s+a\s+half)?"
    return rf"(?<![\d.])(?<![\w-])(?<!ty ){single}(?:\s*(?:-|–|to|or)\s*{single})?\s*{unit}"


def _ordinal_word(n: int) -> str:
    if n < 20:
        return _ORDINALS[n]
    tens, unit = divmod(n, 10)
    if unit == 0:
        return _TENS[tens][:-1] + "ieth"
    return f"{_TENS[tens]}[\\s-]+{_ORDINALS[unit]}"


_ORDINAL_WORDS = "|".join(sorted((_ordinal_word(d) for d in range(1, 32)), key=len, reverse=True))


def _day(day: int) -> str:
    """The 14th: "14", "14th" or "fourteenth" (not the "4th" of "14th", not "twenty-second")."""
    return (
        rf"(?:(?<!\d){day}(?:st|nd|rd|th)?(?!\d)"
        rf"|(?<![\w-])(?<!ty ){_ordinal_word(day)}(?![\w-]))"
    )


def _other_day(day: int) -> str:
    """Any day of a month but the `day`th."""
    return (
        rf"(?:(?<!\d)(?!{day}(?:st|nd|rd|th)?(?!\d))(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?!\d)"
        rf"|(?<![\w-])(?<!ty )(?!{_ordinal_word(day)}(?![\w-]))(?:{_ORDINAL_WORDS})(?![\w-]))"
    )


def _date(day: int, month: str) -> str:
    """The 14th of March: "14th of March", "14 March", "March 14th", "the fourteenth of March"."""
    d = _day(day)
    return rf"{d}\s+(?:of\s+)?{month}\b|\b{month}\s+(?:the\s+)?{d}"


def _other_dates(day: int, month: str) -> tuple[str, ...]:
    """Another day of the same month, or the same day of another month."""
    others = "|".join(m for m in _MONTHS if m != month)
    d, o = _day(day), _other_day(day)
    return (
        rf"{o}\s+(?:of\s+)?{month}\b",
        rf"\b{month}\s+(?:the\s+)?{o}",
        rf"{d}\s+(?:of\s+)?(?:{others})\b",
        rf"\b(?:{others})\s+(?:the\s+)?{d}",
    )


def _clock(hour: int, minute: int, *, pm: bool) -> str:
    """A time of day as a voice says it: 5 pm ("5 pm", "five o'clock", "17:00"), 3:30 ("3.30",
    "half past three", "half three", "fifteen thirty"), 9:40 ("twenty to ten")."""
    h24 = hour + 12 if pm and hour < 12 else hour
    word, later = _SMALL[hour], _SMALL[hour % 12 + 1]
    ways = [rf"(?<![\d:.])(?:0?{hour}|{h24})[:.]{minute:02d}(?!\d)"]
    if minute == 0:
        ways += [
            rf"(?<![\d:.]){hour}\s*(?:o{_AP}clock|(?:p|a)\.?\s?m\b\.?)",
            rf"\b{word}\s+(?:o{_AP}clock|(?:p|a)\.?\s?m\b\.?|in\s+the\s+(?:morning|afternoon|evening))",
            rf"\b{_word_pattern(_words(h24))}\s+hundred\b",
        ]
    else:
        minute_words = _word_pattern(_words(minute))
        ways.append(rf"\b{word}[\s-]+{minute_words}\b")
        if minute == 30:
            ways.append(rf"\bhalf\s+(?:past\s+)?{word}\b")
        if minute == 15:
            ways.append(rf"\bquarter\s+past\s+{word}\b")
        if minute == 45:
            ways.append(rf"\bquarter\s+to\s+{later}\b")
        if minute in (40, 50):
            ways.append(rf"\b{_words(60 - minute)}\s+to\s+{later}\b")
    return "|".join(ways)


def _other_times(hour: int, minute: int, *, pm: bool) -> tuple[str, ...]:
    """Another clock time: "4 pm", "5:30", "17:15", "six o'clock"."""
    h24 = hour + 12 if pm and hour < 12 else hour
    right = rf"(?:0?{hour}|{h24})[:.]{minute:02d}(?!\d)"
    ways = [rf"(?<![\d:.])(?!{right})(?:[01]?\d|2[0-3])[:.][0-5]\d(?!\d)"]
    said = rf"\s*(?:o{_AP}clock|(?:p|a)\.?\s?m\b)"
    if minute == 0:  # another hour: "4 pm", "six o'clock"
        ways.append(rf"(?<![\d:.])(?!0?{hour}\s*(?:p|a|o))(?:1[0-2]|0?[1-9]){said}")
        ways.append(rf"\b(?!{_SMALL[hour]}\b)(?:{_HOURS}){said}")
    else:  # a whole hour: "3 pm", "three o'clock"
        ways.append(rf"(?<![\d:.])(?:1[0-2]|0?[1-9]){said}")
        ways.append(rf"\b(?:{_HOURS}){said}")
    return tuple(ways)


def _other_days(day: str) -> str:
    """Any weekday but `day` ("tuesday")."""
    return rf"\b(?!{day})(?:{'|'.join(_WEEKDAYS)})s?\b"


def _digits(number: str) -> str:
    """A phone number or code, digit by digit, grouped any way: "07700 900123", "0 7 7 0 0 …",
    "oh seven seven …"; not part of a longer number."""
    names = {str(i): w for i, w in enumerate(_SMALL[:10])}
    one = [rf"(?:{d}|{names[d]}{'|oh' if d == '0' else ''})" for d in number if d.isdigit()]
    return r"(?<![\w])(?<!\d[\s-])" + r"[\s,.\-–]*".join(one) + r"(?![\s\-–]?\d)"


def _spelled(word: str) -> str:
    """A word spelled out letter by letter: "N-E-C-E-S-S-A-R-Y", "N, E, C, …", "N E C E double S
    A R Y" (not the word itself: the reply says it anyway)."""
    sep = r"[\s,.\-–]+"
    groups: list[str] = []
    i = 0
    while i < len(word):
        letter = word[i].lower()
        if i + 1 < len(word) and word[i + 1].lower() == letter:
            groups.append(rf"(?:{letter}{sep}{letter}|double{sep}{letter})")
            i += 2
        else:
            groups.append(letter)
            i += 1
    return r"(?<![\w-])" + sep.join(groups) + r"(?![\w])(?!\s*[-–]\s*[a-z]\b)"


def _claims(wrong: str, what: str) -> tuple[str, str]:
    """Saying `wrong` is the answer ("Sydney is the capital", "the capital of Australia is Sydney"),
    but not naming it beside the right one ("Canberra, not Sydney"; "Sydney is the largest city")."""
    return (
        rf"\b{wrong}\s+is\s+(?:the\s+|its\s+)?(?:\w+{_AP}s\s+)?{what}\b",
        rf"\b{what}(?:\s+city)?(?:\s+(?:of|in|to)\s+(?:the\s+)?\w+(?:\s+\w+)?)?\s+is\s+(?:the\s+)?{wrong}\b",
    )


def _speak(wrong: str) -> tuple[str, str]:
    """Saying the language spoken is `wrong` (not "Portuguese, not Spanish")."""
    return (
        rf"\b(?:speak|speaks|spoken|language\s+is|language\s+there\s+is)\s+"
        rf"(?:mainly\s+|mostly\s+|primarily\s+)?{wrong}\b",
        rf"\b{wrong}\s+is\s+(?:the\s+)?(?:main\s+|official\s+|national\s+)?language\b",
    )


def _ask(
    text: str,
    accept: str | tuple[str, ...],
    example: str,
    *,
    reject: str | tuple[str, ...] = (),
    wrong: str = "",
) -> Question:
    return Question(
        text,
        (accept,) if isinstance(accept, str) else accept,
        (reject,) if isinstance(reject, str) else reject,
        example=example,
        wrong=wrong,
    )


def _family(name: str, *questions: Question) -> tuple[Question, ...]:
    return tuple(replace(q, family=name) for q in questions)


# ---------------------------------------------------------------------------------------------
# Everyday questions
# ---------------------------------------------------------------------------------------------

_ARITHMETIC = _family(
    "arithmetic",
    _ask("What's 7 times 9?", _num(63), "Seven times nine is 63.", wrong="It's 56."),
    _ask("What's twelve times twelve?", _num(144), "Twelve times twelve is one hundred and forty-four."),
    _ask("What's 250 plus 375?", _num(625), "250 plus 375 is 625.", wrong="It's 6,250."),
    _ask("What's a hundred minus twenty-eight?", _num(72), "A hundred minus twenty-eight is seventy-two."),
    _ask("What's 15% of 80?", _num(12), "15 percent of 80 is 12.", wrong="15% of 80 is 120."),
    _ask("What's 20 percent of 250?", _num(50), "Twenty percent of 250 is 50."),
    _ask("What's half of 360?", _num(180), "Half of 360 is 180."),
    _ask("What's 72 divided by 8?", _num(9), "72 divided by 8 is 9.", wrong="It's ninety."),
    _ask("What's nine squared?", _num(81), "Nine squared is eighty-one."),
    _ask("What's the square root of 144?", _num(12), "The square root of 144 is 12."),
    _ask(
        "What's 10% of 45?",
        (r"(?<!\d)(?<!\d[.,])4\.5(?!\d)", r"\bfour\s+point\s+five\b", r"\bfour\s+and\s+a\s+half\b"),
        "Ten percent of 45 is 4.5.",
        wrong="Ten percent of 45 is 45.",
    ),
    _ask(
        "A jumper costs £40 and it's 25% off. How much is it now?",
        _num(30),
        "With 25% off, the jumper costs £30.",
        wrong="It costs £10 less, so £35.",
    ),
    _ask("What's a quarter of 300?", _num(75), "A quarter of 300 is 75."),
    _ask("What's 3,000 minus 1,200?", (_num(1800), r"\beighteen\s+hundred\b"), "That's 1,800."),
    _ask("What's 25 percent of 60?", _num(15), "25 percent of 60 is 15."),
    _ask("What's 11 plus 26?", _num(37), "Eleven plus twenty-six is thirty-seven.", wrong="It's 36."),
)

_CONVERSION = _family(
    "conversion",
    _ask(
        "How many grams are there in a pound?",
        (_nums(453, 454, decimals=True), r"(?<!\d)0\.45\d*\s*(?:kg|kilo)"),
        "There are about 454 grams in a pound.",
        wrong="There are 500 grams in a pound.",
    ),
    _ask("How many ounces are in a pound?", _num(16), "There are sixteen ounces in a pound."),
    _ask(
        "How many millilitres are in a cup?",
        _nums(236, 237, 240, 250, decimals=True),
        "A US cup is about 237 millilitres, and a metric cup is 250.",
        wrong="A cup is 100 millilitres.",
    ),
    _ask("How many teaspoons are in a tablespoon?", _num(3), "There are three teaspoons in a tablespoon."),
    _ask(
        "What's 180 degrees Celsius in Fahrenheit?",
        _nums(350, 355, 356, decimals=True),
        "180 degrees Celsius is 356 degrees Fahrenheit.",
        wrong="It's 212 degrees Fahrenheit.",
    ),
    _ask(
        "What's 350 Fahrenheit in Celsius?",
        _nums(175, 176, 177, 180, decimals=True),
        "350 degrees Fahrenheit is about 177 degrees Celsius.",
    ),
    _ask(
        "What's gas mark 4 in Celsius?",
        _nums(175, 176, 177, 180, decimals=True),
        "Gas mark 4 is 180 degrees Celsius.",
        wrong="Gas mark 4 is 200 degrees Celsius.",
    ),
    _ask("How many millilitres in a litre?", _num(1000), "There are 1,000 millilitres in a litre."),
    _ask("How many grams in a kilo?", _num(1000), "A kilo is a thousand grams."),
    _ask(
        "How many millilitres are in a pint?",
        _nums(568, 473, decimals=True),
        "A British pint is 568 millilitres; an American pint is 473.",
        wrong="A pint is 500 millilitres.",
    ),
    _ask("How many pints are in a gallon?", _num(8), "There are eight pints in a gallon."),
    _ask(
        "How many centimetres are in an inch?",
        (r"(?<!\d)(?<!\d[.,])2\.54?(?!\d)", r"\btwo\s+point\s+five(?:[\s-]+four)?\b"),
        "An inch is 2.54 centimetres.",
    ),
    _ask(
        "How many kilometres is a mile?",
        (r"(?<!\d)(?<!\d[.,])1\.6\d*(?!\d)", r"\bone\s+point\s+six\b"),
        "A mile is about 1.6 kilometres.",
        wrong="A mile is 1.2 kilometres.",
    ),
    _ask(
        "How many pounds are in a kilogram?",
        (r"(?<!\d)(?<!\d[.,])2\.2\d*(?!\d)", r"\btwo\s+point\s+two\b"),
        "A kilogram is about 2.2 pounds.",
    ),
    _ask("How many inches are in a foot?", _num(12), "There are 12 inches in a foot."),
    _ask("How many centimetres in a metre?", _num(100), "There are a hundred centimetres in a metre."),
)


def _capital(country: str, city: str, example: str, *wrong_cities: str) -> Question:
    """`wrong_cities`: plain names a small model takes for the capital (the first makes `wrong`)."""
    names = [re.escape(name).replace(r"\ ", r"\s+") for name in wrong_cities]
    reject = tuple(p for name in names for p in _claims(name, "capital"))
    wrong = f"The capital of {country} is {wrong_cities[0].title()}." if wrong_cities else ""
    return _ask(f"What's the capital of {country}?", rf"\b{city}\b", example, reject=reject, wrong=wrong)


_CAPITAL = _family(
    "capital",
    _capital("France", "paris", "The capital of France is Paris."),
    _capital(
        "Australia",
        "canberra",
        "The capital of Australia is Canberra, not Sydney.",
        "sydney",
        "melbourne",
    ),
    _capital("Canada", "ottawa", "Canada's capital is Ottawa.", "toronto", "montreal", "vancouver"),
    _capital("Japan", "tokyo", "The capital of Japan is Tokyo."),
    _capital("Spain", "madrid", "Madrid is the capital of Spain.", "barcelona"),
    _capital("Germany", "berlin", "The capital of Germany is Berlin.", "bonn", "munich"),
    _capital(
        "Brazil",
        "bras[ií]lia",
        "The capital of Brazil is Brasília; Rio de Janeiro is its best-known city.",
        "rio",
        "são paulo",
        "sao paulo",
    ),
    _capital("Turkey", "ankara", "Turkey's capital is Ankara, although Istanbul is bigger.", "istanbul"),
    _capital("Egypt", "cairo", "The capital of Egypt is Cairo."),
    _capital("Scotland", "edinburgh", "Edinburgh is the capital of Scotland.", "glasgow"),
    _ask(
        "What's the capital of the United States?",
        r"\bwashington\b",
        "The capital of the United States is Washington, D.C.",
        reject=_claims("new\\s+york(?:\\s+city)?", "capital"),
        wrong="The capital of the United States is New York City.",
    ),
    _capital("New Zealand", "wellington", "The capital of New Zealand is Wellington.", "auckland"),
    _capital("Switzerland", "berne?", "The capital of Switzerland is Bern.", "zurich", "geneva"),
)

_LANGUAGE = _family(
    "language",
    _ask(
        "What language do they speak in Brazil?",
        r"\bportuguese\b",
        "In Brazil they speak Portuguese, not Spanish.",
        reject=_speak("spanish"),
        wrong="They speak Spanish in Brazil.",
    ),
    _ask("What language do they speak in Mexico?", r"\bspanish\b", "People in Mexico speak Spanish."),
    _ask("What language do people speak in Egypt?", r"\barabic\b", "The language of Egypt is Arabic."),
    _ask(
        "What language do they speak in Argentina?",
        r"\bspanish\b",
        "In Argentina they speak Spanish.",
        reject=_speak("portuguese"),
    ),
    _ask(
        "What language do they speak in the Netherlands?",
        r"\bdutch\b",
        "In the Netherlands they speak Dutch.",
    ),
    _ask(
        "What language do they speak in Iran?",
        (r"\bpersian\b", r"\bfarsi\b"),
        "In Iran they speak Persian, also called Farsi.",
        reject=_speak("arabic"),
        wrong="They speak Arabic in Iran.",
    ),
    _ask("What language do they speak in Austria?", r"\bgerman\b", "In Austria they speak German."),
    _ask("What language do they speak in Greece?", r"\bgreek\b", "People in Greece speak Greek."),
    _ask(
        "What language do they speak in China?",
        (r"\bmandarin\b", r"\bchinese\b"),
        "Most people in China speak Mandarin Chinese.",
    ),
)


def _say(phrase: str, language: str, accept: str, example: str, others: str = "") -> Question:
    reject = rf"\b(?:{others})\b" if others else ()
    return _ask(f"How do you say {phrase} in {language}?", rf"\b(?:{accept})\b", example, reject=reject)


_TRANSLATE = _family(
    "translate",
    _say("thank you", "Spanish", "gracias", "In Spanish, thank you is gracias.", "merci|danke|grazie"),
    _say("thank you", "French", "merci", "Thank you in French is merci.", "gracias|danke|grazie"),
    _say("thank you", "German", "danke", "In German you say danke.", "gracias|merci|grazie"),
    _say("thank you", "Italian", "grazie", "In Italian, thank you is grazie.", "gracias|merci|danke"),
    _say("hello", "French", "bonjour|salut", "Hello in French is bonjour.", "hola|hallo|ciao"),
    _say("goodbye", "Italian", "arrivederci|ciao", "Goodbye in Italian is arrivederci."),
    _say("goodbye", "Spanish", "adi[oó]s|hasta\\s+luego", "In Spanish, goodbye is adiós."),
    _say("please", "German", "bitte", "Please in German is bitte."),
    _say("please", "French", "s['’]il\\s+(?:vous|te)\\s+pla[iî]t", "In French, please is s'il vous plaît."),
    _say("good morning", "Spanish", "buenos\\s+d[ií]as", "Good morning in Spanish is buenos días."),
    _say("good night", "French", "bonne\\s+nuit", "Good night in French is bonne nuit."),
    _say("cheese", "French", "fromage", "The French word for cheese is fromage."),
    _say("water", "Spanish", "agua", "Water in Spanish is agua."),
    _say("dog", "German", "hund", "In German, a dog is der Hund."),
    _say("cat", "Spanish", "gat[oa]", "Cat in Spanish is gato."),
    _say("bread", "Italian", "pane", "Bread in Italian is pane.", "pan|pain|brot"),
)

_SCIENCE = _family(
    "science",
    _ask(
        "What's the boiling point of water in Celsius?",
        _num(100),
        "Water boils at 100 degrees Celsius at sea level.",
    ),
    _ask(
        "What's the freezing point of water in Fahrenheit?",
        _num(32),
        "Water freezes at 32 degrees Fahrenheit.",
        wrong="Water freezes at 0 degrees Fahrenheit.",
    ),
    _ask(
        "What planet is closest to the sun?",
        r"\bmercury\b",
        "Mercury is the closest planet to the sun.",
        reject=_claims("venus", "closest"),
        wrong="Venus is the closest planet to the sun, then Mercury.",
    ),
    _ask(
        "What's the biggest planet in our solar system?",
        r"\bjupiter\b",
        "Jupiter is the biggest planet, bigger than Saturn.",
        reject=(*_claims("saturn", "biggest"), *_claims("saturn", "largest")),
        wrong="Saturn is the biggest planet; Jupiter is second.",
    ),
    _ask(
        "How many planets are in the solar system?", _num(8), "There are eight planets in the solar system."
    ),
    _ask(
        "What gas do plants need to make their food?",
        (r"\bcarbon\s+dioxide\b", r"\bco\s?(?:2|₂)"),
        "Plants use carbon dioxide, water and sunlight to make their food.",
        wrong="Plants need oxygen to make their food.",
    ),
    _ask(
        "What's the chemical symbol for gold?",
        (r"\bau\b", r"\ba[\s-]u\b"),
        "The chemical symbol for gold is Au.",
        reject=r"\bag\b",
        wrong="The symbol for gold is Ag.",
    ),
    _ask("How many bones are in the adult human body?", _num(206), "An adult has 206 bones."),
    _ask(
        "What's the hardest natural substance?", r"\bdiamonds?\b", "Diamond is the hardest natural material."
    ),
    _ask(
        "What colour do you get if you mix blue and yellow?",
        r"\bgreen\b",
        "Blue and yellow make green.",
    ),
    _ask(
        "What is water made of?",
        (r"\bhydrogen\b.*\boxygen\b", r"\boxygen\b.*\bhydrogen\b"),
        "Water is made of hydrogen and oxygen: two hydrogen atoms and one oxygen atom.",
        wrong="Water is made of oxygen and carbon.",
    ),
)

_NATURE = _family(
    "nature",
    _ask("How many legs does a spider have?", _num(8), "A spider has eight legs.", wrong="Six legs."),
    _ask("How many legs does an insect have?", _num(6), "Insects have six legs.", wrong="Eight legs."),
    _ask("What's the fastest land animal?", r"\bcheetahs?\b", "The cheetah is the fastest land animal."),
    _ask("What's the largest mammal?", r"\bblue\s+whales?\b", "The blue whale is the largest mammal."),
    _ask(
        "What do caterpillars turn into?",
        (r"\bbutterfl(?:y|ies)\b", r"\bmoths?\b"),
        "Caterpillars turn into butterflies or moths.",
    ),
    _ask("How many hearts does an octopus have?", _num(3), "An octopus has three hearts."),
    _ask("What's a baby kangaroo called?", r"\bjoeys?\b", "A baby kangaroo is called a joey."),
    _ask("What's the tallest animal in the world?", r"\bgiraffes?\b", "The giraffe is the tallest animal."),
    _ask("What do bees make?", r"\bhoney\b", "Bees make honey, and beeswax too."),
)

_GEOGRAPHY = _family(
    "geography",
    _ask(
        "What's the longest river in the world?",
        (r"\bnile\b", r"\bamazon\b"),  # both are defended, depending on how a river is measured
        "The Nile is usually called the longest river, though some say the Amazon.",
    ),
    _ask(
        "What's the largest ocean?",
        r"\bpacific\b",
        "The Pacific is the largest ocean.",
        reject=(*_claims("(?:the\\s+)?atlantic(?:\\s+ocean)?", "largest"),),
        wrong="The Atlantic Ocean is the largest ocean.",
    ),
    _ask(
        "What's the highest mountain in the world?", r"\beverest\b", "Mount Everest is the highest mountain."
    ),
    _ask("What's the biggest country in the world?", r"\brussia\b", "Russia is the biggest country by area."),
    _ask(
        "What's the biggest hot desert in the world?", r"\bsahara\b", "The Sahara is the largest hot desert."
    ),
    _ask("How many continents are there?", _num(7), "There are seven continents."),
    _ask(
        "What's the smallest country in the world?",
        (r"\bvatican\b", r"\bholy\s+see\b"),
        "Vatican City is the smallest country in the world.",
        wrong="Monaco is the smallest country in the world.",
    ),
    _ask("What's the longest river in the UK?", r"\bsevern\b", "The River Severn is the longest in the UK."),
    _ask(
        "What's the biggest lake in Africa?", r"\bvictoria\b", "Lake Victoria is the largest lake in Africa."
    ),
    _ask(
        "Which ocean do you fly over from London to New York?",
        r"\batlantic\b",
        "You fly over the Atlantic Ocean.",
    ),
    _ask(
        "What's the highest mountain in the UK?",
        r"\bben\s+nevis\b",
        "Ben Nevis in Scotland is the highest mountain in the UK.",
        reject=(*_claims("(?:mount\\s+)?snowdon", "highest"), *_claims("scafell\\s+pike", "highest")),
        wrong="Snowdon is the highest mountain in the UK.",
    ),
    _ask("Which continent is Egypt in?", r"\bafrica\b", "Egypt is in Africa."),
)

_HISTORY = _family(
    "history",
    _ask("Who painted the Mona Lisa?", (r"\bleonardo\b", r"\bda\s+vinci\b"), "Leonardo da Vinci painted it."),
    _ask("Who wrote Romeo and Juliet?", r"\bshakespeare\b", "William Shakespeare wrote Romeo and Juliet."),
    _ask(
        "Who was the first man on the moon?",
        r"\barmstrong\b",
        "Neil Armstrong was the first man on the moon, followed by Buzz Aldrin.",
        reject=_claims("(?:buzz\\s+)?aldrin", "first"),
        wrong="Buzz Aldrin was the first man on the moon.",
    ),
    _ask(
        "What year did the Second World War end?",
        _year(1945),
        "The Second World War ended in 1945.",
        wrong="It ended in 1918.",
    ),
    _ask("Who invented the telephone?", r"\bbell\b", "Alexander Graham Bell is credited with the telephone."),
    _ask(
        "Who was the first president of the United States?",
        r"\bgeorge\s+washington\b|^\W*washington\b",
        "George Washington was the first president.",
        wrong="Abraham Lincoln was the first president, in Washington.",
    ),
    _ask("When did the Titanic sink?", _year(1912), "The Titanic sank in April 1912."),
    _ask("Who painted the ceiling of the Sistine Chapel?", r"\bmichelangelo\b", "Michelangelo painted it."),
    _ask("Who wrote Harry Potter?", r"\browling\b", "J.K. Rowling wrote the Harry Potter books."),
    _ask("Who came up with the theory of relativity?", r"\beinstein\b", "Albert Einstein did."),
    _ask("What year did people first land on the moon?", _year(1969), "The first moon landing was in 1969."),
    _ask("Who composed The Four Seasons?", r"\bvivaldi\b", "Antonio Vivaldi composed The Four Seasons."),
)

_FOOD = _family(
    "food",
    _ask(
        "How long do I boil an egg for a soft yolk?",
        _range(4, 7, "min"),
        "For a soft yolk, boil the egg for about 6 minutes.",
        wrong="Boil it for 10 minutes.",
    ),
    _ask(
        "What temperature should chicken be cooked to?",
        _nums(74, 75, 165, decimals=True),
        "Chicken is done at 74 degrees Celsius, or 165 Fahrenheit, in the thickest part.",
        wrong="Cook chicken to 60 degrees.",
    ),
    _ask("What's the main ingredient in guacamole?", r"\bavocados?\b", "Guacamole is made from avocado."),
    _ask("What is tofu made from?", (r"\bsoy", r"\bsoya\b"), "Tofu is made from soya beans."),
    _ask(
        "What's hummus made from?",
        (r"\bchick\s*-?\s*peas?\b", r"\bgarbanzo"),
        "Hummus is made from chickpeas, tahini, lemon and garlic.",
    ),
    _ask("What's the main herb in pesto?", r"\bbasil\b", "Pesto is made with basil."),
    _ask(
        "How long do I cook dried spaghetti for?",
        _range(8, 12, "min"),
        "Cook dried spaghetti for about 10 to 12 minutes.",
        wrong="About 20 minutes.",
    ),
    _ask(
        "What temperature should my fridge be?",
        (
            r"(?<![\d.])(?<![\w-])(?<!minus\s)(?:[0-5]|zero|one|two|three|four|five)"
            r"(?:\s*(?:-|–|to|and)\s*(?:[1-5]|one|two|three|four|five))?\s*(?:°|degrees?\b)(?!\s*f)",
            r"(?<![\d.])(?:3[4-9]|40)\s*(?:°|degrees?)\s*f",
        ),
        "Your fridge should be between 3 and 5 degrees Celsius.",
        reject=(r"(?:-|−|minus\s*)18\b",),
        wrong="Your fridge should be at minus 18 degrees.",
    ),
    _ask(
        "How cold should a freezer be?",
        (
            r"(?:-|−|minus\s*|negative\s*)18(?!\d)",
            r"\bminus\s+eighteen\b",
            r"(?<![\d.-])0\s*(?:°|degrees?)\s*f",
            r"\bzero\s+degrees\s+f",
        ),
        "A freezer should be at minus 18 degrees Celsius or colder.",
        wrong="A freezer should be at 4 degrees.",
    ),
)

_DATE = _family(
    "date",
    _ask("How many days are in February in a leap year?", _num(29), "February has 29 days in a leap year."),
    _ask("How many weeks are in a year?", _num(52), "There are 52 weeks in a year."),
    _ask("What month comes after October?", r"\bnovember\b", "November comes after October."),
    _ask("How many days are in September?", _num(30), "September has thirty days.", wrong="It has 31."),
    _ask("How many months have 31 days?", _num(7), "Seven months have 31 days."),
    _ask("How many days are in a fortnight?", _num(14), "A fortnight is fourteen days."),
    _ask("What month comes before April?", r"\bmarch\b", "March comes before April."),
    _ask("How many days are in a leap year?", _num(366), "A leap year has 366 days.", wrong="365 days."),
    _ask("What month is Christmas in?", r"\bdecember\b", "Christmas is in December."),
)

_SPELLING = _family(
    "spelling",
    *(
        _ask(
            f"How do you spell {word}?",
            _spelled(word),
            f"{word.capitalize()}: {'-'.join(word.upper())}.",
            wrong=f"{word.capitalize()}: {'-'.join(misspelt.upper())}.",
        )
        for word, misspelt in (
            ("necessary", "neccessary"),
            ("Wednesday", "wensday"),
            ("rhythm", "rythm"),
            ("separate", "seperate"),
            ("accommodate", "accomodate"),
            ("beautiful", "beatiful"),
        )
    ),
)

_GENERAL = _family(
    "general",
    _ask("How many minutes are in an hour?", _num(60), "There are sixty minutes in an hour."),
    _ask("How many hours are in a day?", _num(24), "A day has 24 hours."),
    _ask("How many players are on a football team?", _num(11), "A football team has eleven players."),
    _ask("How many sides does a hexagon have?", _num(6), "A hexagon has six sides.", wrong="Eight sides."),
    _ask("How many strings does a violin have?", _num(4), "A violin has four strings."),
    _ask("What's the plural of mouse?", r"\bmice\b", "The plural of mouse is mice."),
    _ask("How many cards are in a deck?", _num(52), "A standard deck has 52 cards, without jokers."),
)

EVERYDAY: tuple[Question, ...] = (
    *_ARITHMETIC,
    *_CONVERSION,
    *_CAPITAL,
    *_LANGUAGE,
    *_TRANSLATE,
    *_SCIENCE,
    *_NATURE,
    *_GEOGRAPHY,
    *_HISTORY,
    *_FOOD,
    *_DATE,
    *_SPELLING,
    *_GENERAL,
)

# ---------------------------------------------------------------------------------------------
# The household: what it told, what it asks
# ---------------------------------------------------------------------------------------------

HOUSEHOLD_FACTS: tuple[str, ...] = (
    "the plumber is called Marco and his number is 0 7 7 0 0 9 0 0 1 2 3",
    "Grandma's birthday is on the 14th of March",
    "the wifi password is blue giraffe 42",
    "the spare key is under the green flowerpot by the back door",
    "Tom's football practice is on Tuesdays at 5 pm",
    "the bins go out on Thursday night",
    "Lily is allergic to peanuts",
    "the car's MOT is due on the 2nd of June",
    "Tom and Lily have the dentist on the 9th of April at half past three",
    "the boiler service is booked for the 3rd of November",
    "the neighbours at number 12 are called Priya and Sam",
    "the dog is called Biscuit and his vet is Riverside Vets on Mill Lane",
    "Mark's flight back from Berlin lands at 9:40 on Sunday evening",
    "the kids go back to school on the 4th of September",
    "the window cleaner comes on the first Monday of every month",
    "our babysitter is Chloe and she charges 10 pounds an hour",
    "Mark's parents are coming to stay on the 22nd of August",
    "the gas meter is in the cupboard under the stairs",
    "the stopcock is under the kitchen sink",
    "Lily's swimming lesson is on Saturday mornings at 9:15",
)

_KNOWN_DATE = _family(
    "date",
    _ask(
        "When is Grandma's birthday?",
        _date(14, "march"),
        "Grandma's birthday is on the 14th of March.",
        reject=_other_dates(14, "march"),
        wrong="Grandma's birthday is on the 15th of March.",
    ),
    _ask(
        "When does the car need its MOT?",
        _date(2, "june"),
        "The MOT is due on June 2nd.",
        reject=_other_dates(2, "june"),
        wrong="The car's MOT is due on the 12th of June.",
    ),
    _ask(
        "When's the kids' dentist appointment?",
        _date(9, "april"),
        "Tom and Lily are at the dentist on the ninth of April at half past three.",
        reject=_other_dates(9, "april"),
        wrong="It's on the 9th of August.",
    ),
    _ask(
        "When is the boiler getting serviced?",
        _date(3, "november"),
        "The boiler service is booked for November the 3rd.",
        reject=_other_dates(3, "november"),
        wrong="The boiler service is on the 3rd of October.",
    ),
    _ask(
        "When do the kids go back to school?",
        _date(4, "september"),
        "The kids go back on the 4th of September.",
        reject=_other_dates(4, "september"),
        wrong="They go back on the 14th of September.",
    ),
    _ask(
        "When are Mark's parents coming to stay?",
        _date(22, "august"),
        "Mark's parents are coming on the 22nd of August.",
        reject=_other_dates(22, "august"),
        wrong="They arrive on the 2nd of August.",
    ),
)

_KNOWN_TIME = _family(
    "time",
    _ask(
        "What time is Tom's football practice?",
        _clock(5, 0, pm=True),
        "Tom's football practice is at 5 pm.",
        reject=_other_times(5, 0, pm=True),
        wrong="Tom's football practice is at 5:30 pm.",
    ),
    _ask(
        "What time is the dentist?",
        _clock(3, 30, pm=True),
        "The dentist is at half past three.",
        reject=_other_times(3, 30, pm=True),
        wrong="The dentist is at 2:30 pm.",
    ),
    _ask(
        "What time does Mark's flight land?",
        _clock(9, 40, pm=True),
        "Mark's flight lands at 9:40 on Sunday evening.",
        reject=_other_times(9, 40, pm=True),
        wrong="Mark's flight lands at 9:14 pm.",
    ),
    _ask(
        "What time is Lily's swimming lesson?",
        _clock(9, 15, pm=False),
        "Lily's swimming lesson is at quarter past nine on Saturday morning.",
        reject=_other_times(9, 15, pm=False),
        wrong="Lily's swimming is at 5 pm.",
    ),
)

_KNOWN_WEEKDAY = _family(
    "weekday",
    _ask(
        "What day do the bins go out?",
        r"\bthursdays?\b",
        "The bins go out on Thursday night.",
        reject=_other_days("thursday"),
        wrong="The bins go out on Tuesday night.",
    ),
    _ask(
        "Which day is Tom's football?",
        r"\btuesdays?\b",
        "Tom has football on Tuesdays.",
        reject=_other_days("tuesday"),
        wrong="Tom's football is on Thursdays.",
    ),
    _ask(
        "When does Mark get back from Berlin?",
        r"\bsunday\b",
        "Mark lands on Sunday evening at 9:40.",
        reject=_other_days("sunday"),
        wrong="Mark is back on Saturday.",
    ),
    _ask(
        "What day is Lily's swimming?",
        r"\bsaturdays?\b",
        "Lily swims on Saturday mornings.",
        reject=_other_days("saturday"),
        wrong="Lily's swimming is on Sunday mornings.",
    ),
    _ask(
        "When does the window cleaner come?",
        r"\b(?:first|1st)\s+monday\b",
        "The window cleaner comes on the first Monday of the month.",
        reject=(_other_days("monday"), r"\b(?:second|2nd|third|3rd|last|fourth|4th)\s+monday\b"),
        wrong="The window cleaner comes on the first Tuesday of the month.",
    ),
)

_KNOWN_NUMBER = _family(
    "number",
    _ask(
        "What's the wifi password?",
        r"\bblue\W*giraffe\W*(?:42|forty[\s-]*two)\b",
        "The wifi password is blue giraffe 42.",
        wrong="The wifi password is blue giraffe 24.",
    ),
    _ask(
        "What's the plumber's number?",
        _digits("07700900123"),
        "Marco's number is 07700 900123.",
        wrong="Marco's number is 07700 900132.",
    ),
    _ask(
        "How much do we pay the babysitter?",
        (r"£\s*10(?![\d.,]?\d)", rf"{_WORD_BEFORE}(?:10|ten)\s+(?:pounds|quid)\b"),
        "Chloe charges £10 an hour.",
        reject=(r"£\s*(?!10(?![\d.,]?\d))\d", r"(?<![\d.£])(?!10\s)\d+(?:\.\d+)?\s*(?:pounds|quid)\b"),
        wrong="Chloe charges 12 pounds an hour.",
    ),
    _ask(
        "What number do Priya and Sam live at?",
        _num(12),
        "Priya and Sam live at number 12.",
        reject=rf"\bnumber\s+(?!12\b|twelve\b)(?:\d|{_NUMBER_WORDS})",
        wrong="They live at number 21.",
    ),
)

_KNOWN_NAME = _family(
    "name",
    _ask("Who's our plumber?", r"\bmarco\b", "Your plumber is Marco.", wrong="Your plumber is Mario."),
    _ask(
        "What are the neighbours called?",
        (r"\bpriya\b.*\bsam\b", r"\bsam\b.*\bpriya\b"),
        "The neighbours at number 12 are Priya and Sam.",
        wrong="The neighbours are Priya and Sanjay.",
    ),
    _ask("What's the dog called?", r"\bbiscuit\b", "The dog is called Biscuit.", wrong="He's called Buster."),
    _ask(
        "Who's Biscuit's vet?",
        r"\briverside\b",
        "Biscuit goes to Riverside Vets on Mill Lane.",
        wrong="Biscuit's vet is Mill Lane Vets.",
    ),
    _ask("Who's our babysitter?", r"\bchloe\b", "Your babysitter is Chloe.", wrong="It's Zoe."),
)

_KNOWN_PLACE = _family(
    "place",
    _ask(
        "Where's the spare key?",
        r"\bgreen\s+flower\s*-?\s*pot\b",
        "The spare key is under the green flowerpot by the back door.",
        reject=(
            r"\b(?!green\b)(?:red|blue|yellow|white|black|brown|grey|gray|pink|orange|purple|terracotta)"
            r"\s+flower\s*-?\s*pot",
            r"\bdoor\s*-?\s*mat\b",
        ),
        wrong="It's under the doormat, or the green flowerpot.",
    ),
    _ask(
        "Where's the vet?",
        r"\bmill\s+lane\b",
        "Riverside Vets is on Mill Lane.",
        wrong="Riverside Vets is on Mill Road.",
    ),
    _ask(
        "Where's the gas meter?",
        r"\bunder(?:neath)?\s*(?:the\s+)?stairs\b",
        "The gas meter is in the cupboard under the stairs.",
        reject=r"\bsink\b",
        wrong="The gas meter is under the kitchen sink.",
    ),
    _ask(
        "Where's the stopcock?",
        r"\b(?:under|beneath|below)\s+(?:the\s+)?(?:kitchen\s+)?sink\b",
        "The stopcock is under the kitchen sink.",
        reject=r"\bstairs\b",
        wrong="The stopcock is in the cupboard under the stairs.",
    ),
)

_KNOWN_THING = _family(
    "thing",
    _ask(
        "Is Lily allergic to anything?",
        r"\bpeanuts?\b",
        "Yes, Lily is allergic to peanuts.",
        reject=r"\b(?:milk|dairy|eggs?|gluten|wheat|shellfish|fish|soya?|sesame|strawberr(?:y|ies))\b",
        wrong="Lily is allergic to eggs and peanuts.",
    ),
    _ask(
        "Can Lily have peanut butter?",
        (
            r"\ballergic\b",
            r"^\W*no\b",
            r"\b(?:can(?:no|['’])?t|should(?:n['’]?t|\s+not)|must(?:n['’]?t|\s+not))\b",
        ),
        "No, Lily is allergic to peanuts.",
        reject=(r"^\W*yes\b", rf"\b(?:don{_AP}t|do\s+not)\s+know\b", r"\bnot\s+sure\b"),
        wrong="Yes, Lily can have peanut butter.",
    ),
)

HOUSEHOLD_KNOWN: tuple[Question, ...] = (
    *_KNOWN_DATE,
    *_KNOWN_TIME,
    *_KNOWN_WEEKDAY,
    *_KNOWN_NUMBER,
    *_KNOWN_NAME,
    *_KNOWN_PLACE,
    *_KNOWN_THING,
)

# The honest replies: "I don't know", "I'm not sure", "you haven't told me", "no idea", "tell me and
# I'll remember", "I don't have that" (the brain's own: "I don't know — tell me and I'll remember.").
DONT_KNOW: tuple[str, ...] = (
    rf"\b(?:don{_AP}t|do\s+not|didn{_AP}t|did\s+not|doesn{_AP}t|does\s+not)\s+(?:actually\s+)?know\b",
    r"\bnot\s+(?:sure|certain)\b",
    r"\bno\s+idea\b",
    rf"\b(?:haven{_AP}t|have\s+not|hasn{_AP}t|has\s+not|wasn{_AP}t|was\s+not|weren{_AP}t|never|not)\s+"
    r"(?:been\s+|yet\s+)?(?:told|mentioned|said|given|shared)\b",
    rf"\b(?:didn{_AP}t|did\s+not|never)\s+(?:tell|mention|say|give|share)\b",
    rf"\b(?:nobody|no\s*one|no-one)(?:{_AP}s)?\s+(?:has\s+)?(?:told|mentioned|said)\b",
    rf"\b(?:if|once|when)\s+you\s+tell\s+me\b|\btell\s+me\b[^.?!]*\bI{_AP}(?:ll|\s+will)\s+remember\b",
    rf"\bI\s+(?:don{_AP}t|do\s+not)\s+have\b",
    rf"\b(?:can{_AP}t|cannot|can\s+not|couldn{_AP}t|could\s+not|unable\s+to)\s+"
    r"(?:find|recall|remember|know|tell|say|access|provide)\b",
    rf"\b(?:don{_AP}t|do\s+not)\s+(?:remember|recall)\b",
    r"\bno\s+(?:record|information|memory|memories|note|notes|details)\b",
    r"\bnothing\s+(?:about|on|saved|stored|noted|recorded)\b",
    r"\bno\s+way\s+(?:of|to)\s+(?:know|tell)(?:ing)?\b",
    rf"\bI\s+haven{_AP}t\s+got\b|\bnot\s+something\s+I\s+(?:know|have)\b",
)

# What an invented answer holds, by the kind of question (a hedged "I'm not sure, but it's 1234"
# is still an invention). Honest replies hold none of them.
_CODE = (r"\d(?:[\s\-–]?\d){2,}", rf"\b(?:{_DIGIT_WORDS})(?:[\s,\-–]+(?:{_DIGIT_WORDS})){{2,}}\b")
_ANY_DAY = (
    r"(?:(?<!\d)(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?!\d)|(?<![\w-])(?:" + _ORDINAL_WORDS + r")\b)"
)
_DATE_ANY = (
    r"\b(?:january|february|march|april|june|july|august|september|october|november|december)\b",
    rf"{_ANY_DAY}\s+(?:of\s+)?may\b|\bmay\s+(?:the\s+)?{_ANY_DAY}",
)
_TIME_ANY = (
    r"(?<![\d.])\d{1,2}(?:[:.]\d\d)?\s*(?:(?:a|p)\.?\s?m\b)",
    r"(?<![\d.])\d{1,2}[:.][0-5]\d(?!\d)",
    rf"\bo{_AP}clock\b",
    rf"\b(?:half|quarter)\s+(?:past|to)\b|\b(?:half|quarter)\s+(?:{_HOURS})\b",
    rf"\b(?:{_HOURS})\s+(?:thirty|fifteen|forty[\s-]five|(?:a|p)\.?\s?m\b)",
)
_WEEKDAY = (rf"\b(?:{'|'.join(_WEEKDAYS)})s?\b",)
_MONEY = (r"[£$€]\s*\d", r"\b\d+(?:\.\d+)?\s*(?:pounds|quid|dollars|euros|pence)\b")
_AGE = (
    r"(?<![\d.])\d{1,3}(?![\d.])",
    r"\byears?\s+old\b",
    rf"\b(?:is|he{_AP}s|she{_AP}s|turns?|turned|aged?)\s+(?:about\s+|around\s+)?(?:{_NUMBER_WORDS})\b",
)
_TITLED = (r"\b(?:mrs|mr|miss|ms|dr)\b\.?\s+[a-z]",)  # "Mrs Smith", "Dr Patel": an invented name
_TOLD_NAMES = (r"\b(?:marco|chloe|priya|sam|biscuit)\b",)  # a told name given for another person


def _unknown(text: str, example: str, *reject: tuple[str, ...] | str, wrong: str = "") -> Question:
    patterns = tuple(p for r in reject for p in ((r,) if isinstance(r, str) else r))
    return Question(text, DONT_KNOW, patterns, example=example, wrong=wrong)


_UNKNOWN_HOUSEHOLD = _family(
    "household",
    _unknown(
        "What's the garage door code?",
        "I don't know the garage door code — tell me and I'll remember it.",
        _CODE,
        wrong="I'm not sure, but I think the garage door code is 1 2 3 4.",
    ),
    _unknown(
        "What's the PIN for the alarm?",
        "You haven't told me the alarm PIN.",
        _CODE,
        wrong="The alarm PIN is 0000.",
    ),
    _unknown("Where did I park the car?", "I'm not sure where you parked the car.", wrong="On level 2."),
    _unknown(
        "What's the name of our cat?",
        "I don't know your cat's name yet.",
        _TOLD_NAMES,
        wrong="Your cat is called Biscuit.",
    ),
    _unknown(
        "What's my husband's favourite food?",
        "I have no idea — you haven't told me his favourite food.",
        wrong="His favourite food is lasagne.",
    ),
    _unknown(
        "What's our address?",
        "I don't have your address.",
        r"\d",
        wrong="You live at number 12.",
    ),
    _unknown(
        "What's our postcode?",
        "I don't know your postcode. Tell me and I'll remember it.",
        r"\d",
        wrong="Your postcode is SW1A 1AA.",
    ),
    _unknown(
        "Who's coming for dinner on Saturday?",
        "Nobody's told me who's coming on Saturday.",
        _TOLD_NAMES,
        wrong="Priya and Sam are coming for dinner.",
    ),
    _unknown(
        "When is my sister's birthday?",
        "I don't know your sister's birthday — tell me and I'll remember.",
        _DATE_ANY,
        wrong="Your sister's birthday is on the 14th of March.",
    ),
    _unknown(
        "What time is Ella's piano lesson?",
        "I don't know what time Ella's piano lesson is.",
        _TIME_ANY,
        _WEEKDAY,
        wrong="Ella's piano lesson is at 5 pm on Tuesday.",
    ),
    _unknown("Where did I put my glasses?", "I'm not sure where your glasses are.", wrong="On the table."),
    _unknown(
        "What's the combination for the bike lock?",
        "You haven't told me the bike lock combination.",
        _CODE,
        wrong="The combination is 4 2 7 1.",
    ),
    _unknown(
        "Who's picking the kids up from school today?",
        "I don't know who's picking them up today.",
        _TOLD_NAMES,
        wrong="Chloe is picking them up.",
    ),
    _unknown(
        "When's our wedding anniversary?",
        "I don't know when your anniversary is.",
        _DATE_ANY,
        wrong="Your anniversary is on the 2nd of June.",
    ),
    _unknown(
        "What's the number for the electrician?",
        "I don't have a number for an electrician.",
        _CODE,
        wrong="The electrician's number is 07700 900123.",
    ),
    _unknown(
        "When's the car insurance due?",
        "I'm not sure when the car insurance is due.",
        _DATE_ANY,
        wrong="The car insurance is due on the 2nd of June.",
    ),
    _unknown(
        "What's our landlord's phone number?",
        "I don't know your landlord's number.",
        _CODE,
        wrong="Your landlord's number is 0 7 7 0 0 9 0 0 1 2 3.",
    ),
    _unknown(
        "What's the babysitter's phone number?",
        "I don't have Chloe's phone number — tell me and I'll remember it.",
        _CODE,
        wrong="Chloe's number is 07700 900123.",
    ),
    _unknown(
        "When's the next parents' evening?",
        "I don't know when the next parents' evening is.",
        _DATE_ANY,
        _WEEKDAY,
        wrong="Parents' evening is on Thursday.",
    ),
    _unknown(
        "How much do we pay for electricity a month?",
        "I don't know how much your electricity costs.",
        _MONEY,
        wrong="About 120 pounds a month.",
    ),
    _unknown(
        "Who's our GP?",
        "I don't know who your GP is.",
        _TITLED,
        wrong="Your GP is Dr Patel.",
    ),
    _unknown(
        "Where did we put the passports?",
        "I don't know where the passports are; tell me and I'll remember.",
        wrong="The passports are in the top drawer.",
    ),
    _unknown(
        "When does the dog need his next jab?",
        "I don't know when Biscuit's next jab is due.",
        _DATE_ANY,
        wrong="His next jab is due in March.",
    ),
    _unknown(
        "When's the dog's birthday?",
        "I don't know Biscuit's birthday.",
        _DATE_ANY,
        wrong="Biscuit's birthday is on the 4th of September.",
    ),
    _unknown(
        "What time are we meeting the Wilsons tomorrow?",
        "I'm not sure — you haven't told me about meeting the Wilsons.",
        _TIME_ANY,
        wrong="You're meeting the Wilsons at 7 pm.",
    ),
    _unknown(
        "Where are we going on holiday this year?",
        "I don't know where you're going on holiday this year.",
        wrong="You're going to Spain.",
    ),
    _unknown(
        "What's the code for the key safe?",
        "I don't know the key safe code.",
        _CODE,
        wrong="The key safe code is 4 4 1 9.",
    ),
    _unknown(
        "How much did we pay for the sofa?",
        "I don't know how much the sofa cost.",
        _MONEY,
        wrong="The sofa cost £899.",
    ),
)

# About a person by name, phrased like a general question ("how old is Tom?").
_UNKNOWN_NAMED = _family(
    "named",
    _unknown("How old is Tom?", "I don't know how old Tom is.", _AGE, wrong="Tom is 9 years old."),
    _unknown(
        "How old is Grandma?", "I'm not sure how old Grandma is.", _AGE, wrong="Grandma is seventy-four."
    ),
    _unknown(
        "What's Ella's teacher called?",
        "I don't know the name of Ella's teacher.",
        _TITLED,
        _TOLD_NAMES,
        wrong="Ella's teacher is Mrs Thompson.",
    ),
    _unknown(
        "When is Ella's birthday?",
        "I don't know Ella's birthday — tell me and I'll remember.",
        _DATE_ANY,
        wrong="Ella's birthday is on the 14th of March.",
    ),
    _unknown(
        "What does Lily want for Christmas?",
        "I don't know what Lily wants for Christmas.",
        wrong="Lily wants a bike for Christmas.",
    ),
    _unknown(
        "Where does Mark work?",
        "I don't know where Mark works.",
        r"\bberlin\b",
        wrong="Mark works in Berlin.",
    ),
    _unknown(
        "What's Tom's best friend called?",
        "I don't know the name of Tom's best friend.",
        _TOLD_NAMES,
        wrong="Tom's best friend is Sam.",
    ),
    _unknown(
        "How tall is Lily?",
        "I don't know how tall Lily is.",
        r"\d",
        r"\b(?:feet|foot|inches|centimet(?:re|er)s?|met(?:re|er)s?|cm)\b",
        wrong="Lily is about 120 centimetres tall.",
    ),
    _unknown(
        "What time does Ella go to bed?",
        "I don't know Ella's bedtime.",
        _TIME_ANY,
        wrong="Ella goes to bed at 7:30.",
    ),
    _unknown(
        "What's Grandad's phone number?",
        "I don't have Grandad's number.",
        _CODE,
        wrong="Grandad's number is 07700 900123.",
    ),
    _unknown(
        "Does Tom like mushrooms?",
        "I don't know whether Tom likes mushrooms.",
        r"^\W*(?:yes|no)\b",
        wrong="Yes, Tom loves mushrooms.",
    ),
    _unknown(
        "What's Mark's mobile number?",
        "I don't know Mark's mobile number yet.",
        _CODE,
        wrong="Mark's number is 07700 900123.",
    ),
    _unknown(
        "What size shoes does Tom wear?",
        "I don't know Tom's shoe size.",
        r"\d",
        rf"\bsize\s+(?:{_NUMBER_WORDS})\b",
        wrong="Tom wears a size 4.",
    ),
    _unknown(
        "Is Ella allergic to anything?",
        "I don't know of anything Ella is allergic to; nobody has told me.",
        r"\bpeanuts?\b",
        wrong="Ella is allergic to peanuts.",
    ),
    _unknown(
        "What school does Ella go to?",
        "I'm not sure which school Ella goes to.",
        wrong="Ella goes to St Mary's.",
    ),
)

# Asked only with an empty memory: a told fact is about the same subject (the same question as in
# HOUSEHOLD_KNOWN, or one whose honest answer might say a related told fact back).
_UNKNOWN_EMPTY = _family(
    "needs_empty",
    _unknown(
        "What did I say about the plumber?",
        "You haven't told me anything about the plumber.",
        _CODE,
        r"\bmarco\b",
        wrong="You said the plumber is Marco.",
    ),
    _unknown(
        # "Grandma" may be the speaker's mum: the told grandma's birthday might answer it.
        "When is my mum's birthday?",
        "I don't know your mum's birthday — tell me and I'll remember.",
        _DATE_ANY,
        wrong="Your mum's birthday is on the 14th of March.",
    ),
    _unknown(
        "What's our dentist called?",
        "I don't know your dentist's name.",
        _TITLED,
        wrong="Your dentist is Dr Patel.",
    ),
    _unknown(
        "When did we last service the boiler?",
        "I don't know when the boiler was last serviced.",
        _DATE_ANY,
        wrong="The boiler was serviced on the 3rd of November.",
    ),
    _unknown(
        "Do we have any plans this weekend?",
        "I don't know of any plans — you haven't told me.",
        _TIME_ANY,
        wrong="Lily has swimming on Saturday at 9:15.",
    ),
    _unknown(
        "What's the wifi password?",
        "I don't know the wifi password. Tell me and I'll remember it.",
        r"\d",
        wrong="The wifi password is password123.",
    ),
    _unknown(
        "When is Grandma's birthday?",
        "I don't know when Grandma's birthday is.",
        _DATE_ANY,
        wrong="Grandma's birthday is on the 3rd of May.",
    ),
    _unknown(
        "Where's the spare key?",
        "I'm not sure where the spare key is.",
        wrong="The spare key is under the doormat.",
    ),
    _unknown(
        "What day do the bins go out?",
        "I don't know which day the bins go out.",
        _WEEKDAY,
        wrong="The bins go out on Monday.",
    ),
    _unknown(
        "Is Lily allergic to anything?",
        "I don't know — nobody's told me about Lily's allergies.",
        r"\b(?:peanuts?|nuts?|milk|dairy|eggs?|gluten|wheat|shellfish|fish|soya?|sesame|pollen)\b",
        wrong="Lily is allergic to nuts.",
    ),
    _unknown(
        "Who's our plumber?",
        "You haven't told me who your plumber is.",
        r"\bmarco\b",
        wrong="Your plumber is Marco.",
    ),
)

HOUSEHOLD_UNKNOWN: tuple[Question, ...] = (*_UNKNOWN_HOUSEHOLD, *_UNKNOWN_NAMED, *_UNKNOWN_EMPTY)

# (a fact told on top of HOUSEHOLD_FACTS, what "forget what I said about …" names, the question
# afterwards). No household fact holds every word of the subject, so only the new fact is forgotten.
FORGET_CASES: tuple[tuple[str, str, Question], ...] = tuple(
    (fact, topic, replace(question, family="forget"))
    for fact, topic, question in (
        (
            "the gate code is 4 4 1 9",
            "the gate code",
            _unknown(
                "What's the gate code?",
                "I don't know the gate code — tell me and I'll remember.",
                _digits("4419"),
                _CODE,
                wrong="The gate code is 4 4 1 9.",
            ),
        ),
        (
            "Ella's piano lesson is on Wednesdays at 4 pm",
            "Ella's piano lesson",
            _unknown(
                "When is Ella's piano lesson?",
                "I don't know when Ella's piano lesson is.",
                r"\bwednesdays?\b",
                _clock(4, 0, pm=True),
                _TIME_ANY,
                wrong="Ella's piano lesson is on Wednesdays.",
            ),
        ),
        (
            "my sister Kate's train gets in at 6:20 on Friday",
            "Kate's train",
            _unknown(
                "What time does Kate's train get in?",
                "I don't know what time Kate's train gets in.",
                _clock(6, 20, pm=True),
                r"\bfriday\b",
                _TIME_ANY,
                wrong="Kate's train gets in at twenty past six on Friday.",
            ),
        ),
        (
            "we're having dinner at the Lemon Tree on Saturday at 8",
            "dinner on Saturday",
            _unknown(
                "Where are we having dinner on Saturday?",
                "I'm not sure where you're having dinner on Saturday.",
                r"\blemon\s+tree\b",
                wrong="You're having dinner at the Lemon Tree.",
            ),
        ),
        (
            "the parcel from Amazon is in the shed",
            "the parcel",
            _unknown(
                "Where's the parcel?",
                "I don't know where the parcel is.",
                r"\bshed\b",
                wrong="The parcel is in the shed.",
            ),
        ),
        (
            "Mum's new mobile number is 0 7 9 1 1 2 2 3 4 5 6",
            "Mum's number",
            _unknown(
                "What's Mum's new number?",
                "I don't have your mum's new number — tell me and I'll remember it.",
                _digits("07911223456"),
                _CODE,
                wrong="Mum's new number is 07911 223456.",
            ),
        ),
    )
)

_EVERYDAY_FAMILIES = frozenset({
    "arithmetic", "conversion", "capital", "language", "translate", "science", "nature",
    "geography", "history", "food", "date", "spelling", "general",
})  # fmt: skip
_KNOWN_FAMILIES = frozenset({"date", "time", "weekday", "number", "name", "place", "thing"})
_UNKNOWN_FAMILIES = frozenset({"household", "named", "needs_empty"})
# What the brain itself says to a household question it has no told fact for.
_BRAIN_DONT_KNOW = ("I don't know — tell me and I'll remember.", "I don't know; my memory is switched off.")


def _said_back(fact: str) -> str:
    """A told fact as the household route says it: "Anna told me: <the fact, word for word>."."""
    return f"Anna told me: {fact[:1].upper()}{fact[1:]}."


def self_check() -> None:
    """Every pattern compiles; every example is judged right and every `wrong` reply wrong; every
    known question is answered by a told fact said back word for word; every unknown question
    accepts the brain's "I don't know"; a forgotten fact said back is wrong. Raises AssertionError
    listing every problem."""
    from homeplm.memory.words import content_words  # how "forget what I said about …" matches

    problems: list[str] = []
    families = {
        "EVERYDAY": _EVERYDAY_FAMILIES,
        "HOUSEHOLD_KNOWN": _KNOWN_FAMILIES,
        "HOUSEHOLD_UNKNOWN": _UNKNOWN_FAMILIES,
        "FORGET_CASES": frozenset({"forget"}),
    }
    sets = {
        "EVERYDAY": EVERYDAY,
        "HOUSEHOLD_KNOWN": HOUSEHOLD_KNOWN,
        "HOUSEHOLD_UNKNOWN": HOUSEHOLD_UNKNOWN,
        "FORGET_CASES": tuple(q for _, _, q in FORGET_CASES),
    }
    for name, questions in sets.items():
        seen: set[str] = set()
        for q in questions:
            where = f"{name} {q.text!r}"
            if q.text.casefold() in seen:
                problems.append(f"{where}: asked twice")
            seen.add(q.text.casefold())
            if q.family not in families[name]:
                problems.append(f"{where}: family {q.family!r}")
            if not q.accept or not q.example:
                problems.append(f"{where}: no accept pattern or no example")
            for pattern in (*q.accept, *q.reject):
                try:
                    re.compile(pattern, re.IGNORECASE)
                except re.error as error:
                    problems.append(f"{where}: {pattern!r} does not compile: {error}")
            if problems and problems[-1].startswith(where):
                continue
            if not any(re.search(p, q.example, re.IGNORECASE) for p in q.accept):
                problems.append(f"{where}: no accept pattern finds the example {q.example!r}")
            for pattern in q.reject:
                if re.search(pattern, q.example, re.IGNORECASE):
                    problems.append(f"{where}: reject {pattern!r} finds the example {q.example!r}")
            if q.wrong and judge(q, q.wrong):
                problems.append(f"{where}: the wrong reply {q.wrong!r} is judged right")
            if name in ("EVERYDAY", "HOUSEHOLD_KNOWN") and judge(q, "I don't know."):
                problems.append(f'{where}: "I don\'t know." is judged right')
            if name in ("HOUSEHOLD_UNKNOWN", "FORGET_CASES"):
                problems += [f"{where}: {r!r} is judged wrong" for r in _BRAIN_DONT_KNOW if not judge(q, r)]
    for q in HOUSEHOLD_KNOWN:
        if not any(judge(q, _said_back(fact)) for fact in HOUSEHOLD_FACTS):
            problems.append(f"HOUSEHOLD_KNOWN {q.text!r}: no told fact, said back, is judged right")
    for fact, topic, q in FORGET_CASES:
        words = set(content_words(topic))
        told = set(content_words(fact))
        if not words or not all(any(t.startswith(w) for t in told) for w in words):
            problems.append(f"FORGET_CASES {topic!r}: the fact {fact!r} lacks a word of it")
        for other in HOUSEHOLD_FACTS:
            if all(any(t.startswith(w) for t in content_words(other)) for w in words):
                problems.append(f"FORGET_CASES {topic!r}: would also forget {other!r}")
        if judge(q, _said_back(fact)):
            problems.append(f"FORGET_CASES {q.text!r}: the forgotten fact said back is judged right")
        if fact in HOUSEHOLD_FACTS:
            problems.append(f"FORGET_CASES {fact!r}: already a household fact")
    if problems:
        raise AssertionError(f"{len(problems)} problem(s):\n" + "\n".join(problems))
