"""Everyday facts without the language model (issue 12): exact sums, conversions, dates, spelling."""

from __future__ import annotations

from datetime import datetime

import pytest

from homeplm.brain.intents.everyday import evaluate, say_number
from homeplm.brain.intents.router import make_builtin_intents
from homeplm.core.stages import Turn

ASKED = [
    ("What is nine times seven?", "9 times 7 is 63."),
    ("what's 15 percent of 80", "15 percent of 80 is 12."),
    ("square root of 81", "The square root of 81 is 9."),
    ("what is 12 divided by 4", "12 divided by 4 is 3."),
    ("what is 3 plus 4 times 2", "3 plus 4 times 2 is 11."),
    ("what is seven minus ten", "7 minus 10 is minus 3."),
    ("what's 5 divided by 0", "You can't divide by zero."),
    ("how much is twenty percent of 45", "20 percent of 45 is 9."),
    ("what is 7 squared", "7 squared is 49."),
    ("what is 2 to the power of 10", "2 to the power of 10 is 1,024."),
    ("what is one hundred and twenty times three", "120 times 3 is 360."),
    ("how many grams in a cup of flour", "1 cup of flour is 125 grams."),
    ("how many grams are in a cup of sugar", "1 cup of sugar is 200 grams."),
    ("what is 100 grams of butter in cups", "100 grams of butter is about 0.44 cups."),
    ("convert 350 degrees Fahrenheit to Celsius", "350 degrees Fahrenheit is 176.7 degrees Celsius."),
    ("180 celsius in fahrenheit", "180 degrees Celsius is 356 degrees Fahrenheit."),
    ("how many ounces in a pound", "1 pound is 16 ounces."),
    ("how many pounds in a kilo", "1 kilogram is about 2.2 pounds."),
    ("2 cups in milliliters", "2 cups is about 473 milliliters."),
    ("how many tablespoons in a cup", "1 cup is 16 tablespoons."),
    ("how many teaspoons in a tablespoon", "1 tablespoon is 3 teaspoons."),
    ("10 miles in kilometers", "10 miles is about 16.1 kilometers."),
    ("how many feet in a mile", "1 mile is 5,280 feet."),
    ("how many days until Christmas", "27 days until Christmas, on Friday."),
    ("how many days till new year", "34 days until New Year, on Friday."),
    ("what day is the 4th of July", "July 4 was a Saturday this year."),
    ("what day of the week is December 25", "December 25 is a Friday this year."),
    ("how do you spell necessary", "Necessary: N-E-C-E-S-S-A-R-Y."),
    ("spell restaurant", "Restaurant: R-E-S-T-A-U-R-A-N-T."),
    # once sent to the language model (tests/test_intents.py's negatives before issue 12)
    ("What day is Christmas this year?", "Christmas is a Friday this year."),
    ("What's twenty one plus ten?", "21 plus 10 is 31."),
]
NOT_THESE = ["what is the capital of France", "how many people live in Paris",
             "spell it out for me please now",
             "what time is it", "turn on the kitchen light",
             "how many days are in a week"]  # fmt: skip


def _route():
    return make_builtin_intents(clock=lambda: datetime(2026, 11, 28, 18, 0))


@pytest.mark.parametrize(("text", "reply"), ASKED)
async def test_everyday_facts_are_exact(text: str, reply: str) -> None:
    route = _route()
    decision = route.accepts(Turn(text))
    assert decision is not None and decision.route.startswith("intent:everyday"), "no language model for this"
    assert "".join([p async for p in route.reply(Turn(text))]) == reply


@pytest.mark.parametrize("text", NOT_THESE)
def test_not_everyday_facts(text: str) -> None:
    decision = _route().accepts(Turn(text))
    assert decision is None or not decision.route.startswith("intent:everyday")


def test_school_order_and_spoken_numbers() -> None:
    assert evaluate("2 plus 3 times 4 minus 6 divided by 2") == 11
    assert [say_number(v) for v in (63.0, 2.5, 1234.0, -3.0, 1 / 3)] == [
        "63",
        "2.5",
        "1,234",
        "minus 3",
        "0.333",
    ]
