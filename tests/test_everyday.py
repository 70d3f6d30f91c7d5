"""Everyday facts without the language model (issue 12): exact sums, conversions, dates, spelling.

One table per family, phrased the way people talk to a kitchen speaker (and the way a recogniser
writes it down: "20%", "3/4 cup", "-40", "$80"), each with the exact reply. The clock: Saturday
28 November 2026, 18:00. NOT_EVERYDAY lists what the everyday intents must leave alone: general
knowledge for the language model, and the phrasings of the intents registered after them (timers,
lists, the house's devices), which must never be stolen.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml

from homeplm.brain.intents.everyday import EverydayIntents, evaluate, say_number, spoken_symbols
from homeplm.brain.intents.normalise import normalise
from homeplm.brain.intents.router import make_builtin_intents
from homeplm.brain.router import Router
from homeplm.core.stages import Turn
from tests.fakes import NeverCalled

SUMS = [
    ("What is nine times seven?", "9 times 7 is 63."),
    ("what's 9 x 7", "9 times 7 is 63."),
    ("whats nine times seven", "9 times 7 is 63."),
    ("what is nine multiplied by seven", "9 times 7 is 63."),
    ("what does 9 times 7 equal", "9 times 7 is 63."),
    ("seventeen plus twenty five", "17 plus 25 is 42."),
    ("What's twenty one plus ten?", "21 plus 10 is 31."),
    ("what's 2 + 2", "2 plus 2 is 4."),
    ("Hey Jarvis, what's 9 times 7?", "9 times 7 is 63."),
    ("what's 4 plus 4 divided by 2", "4 plus 4 divided by 2 is 6."),
    ("what's 7 plus 8 plus 9", "7 plus 8 plus 9 is 24."),
    ("how much is 3.5 times 4", "3.5 times 4 is 14."),
    ("what is 144 divided by 12", "144 divided by 12 is 12."),
    ("what is 12 divided by 4", "12 divided by 4 is 3."),
    ("what is 8 / 2", "8 divided by 2 is 4."),
    ("what is 10 divided by 3", "10 divided by 3 is about 3.33."),
    ("what is 100 divided by 7", "100 divided by 7 is about 14.29."),
    ("1000 minus 1", "1,000 minus 1 is 999."),
    ("what is 1,000 minus 1", "1,000 minus 1 is 999."),
    ("what is 10 - 3", "10 minus 3 is 7."),
    ("what is seven minus ten", "7 minus 10 is minus 3."),
    ("what's 50 take away 8", "50 minus 8 is 42."),
    ("what's 6 * 7", "6 times 7 is 42."),
    ("what is 3 plus 4 times 2", "3 plus 4 times 2 is 11."),
    ("what is one hundred and twenty times three", "120 times 3 is 360."),
    ("calculate 45 times 12", "45 times 12 is 540."),
    ("what's 17 times 23", "17 times 23 is 391."),
    ("what is 123456 times 789", "123,456 times 789 is 97,406,784."),
    ("twelve point five times two", "12.5 times 2 is 25."),
    ("what's three point one four times two", "3.14 times 2 is 6.28."),
    ("what's 0.1 plus 0.2", "0.1 plus 0.2 is 0.3."),
    ("what is minus 5 plus 3", "Minus 5 plus 3 is minus 2."),
    ("what's negative 5 times 4", "Minus 5 times 4 is minus 20."),
    ("add 45 and 37", "45 plus 37 is 82."),
    ("subtract 15 from 100", "100 minus 15 is 85."),
    ("multiply 6 by 7", "6 times 7 is 42."),
    ("divide 100 by 8", "100 divided by 8 is 12.5."),
    ("what's 5 divided by 0", "You can't divide by zero."),
    ("what is 999999 times 999999 times 999999", "That number is too big to say."),
    ("square root of 81", "The square root of 81 is 9."),
    ("the square root of 2", "The square root of 2 is about 1.41."),
    ("what's the square root of 144", "The square root of 144 is 12."),
    ("what is the cube root of 27", "The cube root of 27 is 3."),
    ("what is 7 squared", "7 squared is 49."),
    ("what's 12 squared", "12 squared is 144."),
    ("what's 5 cubed", "5 cubed is 125."),
    ("what is 2 to the power of 10", "2 to the power of 10 is 1,024."),
    ("what's 2 to the 10th power", "2 to the power of 10 is 1,024."),
    ("what's 3 to the 4th", "3 to the power of 4 is 81."),
]
PERCENTS_AND_FRACTIONS = [
    ("what's 15 percent of 80", "15 percent of 80 is 12."),
    ("how much is twenty percent of 45", "20 percent of 45 is 9."),
    ("what's 20% of 60", "20 percent of 60 is 12."),
    ("Jarvis what's 20% of 60", "20 percent of 60 is 12."),
    ("what's 2.5 percent of 1000", "2.5 percent of 1,000 is 25."),
    ("what is 12.5 percent of 80", "12.5 percent of 80 is 10."),
    ("what's 20 percent of 45 dollars", "20 percent of 45 dollars is 9 dollars."),
    ("what's 15 percent off 80 dollars", "15 percent off 80 dollars is 68 dollars."),
    ("what's 15% off $80", "15 percent off 80 dollars is 68 dollars."),
    ("what is 80 dollars minus 15 percent", "80 dollars minus 15 percent is 68 dollars."),
    ("what's 200 plus 10 percent", "200 plus 10 percent is 220."),
    ("what is a 15 percent tip on 60 dollars", "A 15 percent tip on 60 dollars is 9 dollars."),
    ("what's a 20% tip on $45", "A 20 percent tip on 45 dollars is 9 dollars."),
    ("what percent of 80 is 20", "20 is 25 percent of 80."),
    ("20 is what percent of 80", "20 is 25 percent of 80."),
    ("what percentage is 15 of 60", "15 is 25 percent of 60."),
    ("what's a third of 90", "A third of 90 is 30."),
    ("what is half of 250", "Half of 250 is 125."),
    ("what's a quarter of 200", "A quarter of 200 is 50."),
    ("what's three quarters of 60", "3 quarters of 60 is 45."),
    ("what is two thirds of 90", "2 thirds of 90 is 60."),
    ("what is 3/4 of 200", "3 quarters of 200 is 150."),
    ("what's double 45", "Double 45 is 90."),
    ("what's twice 12", "Twice 12 is 24."),
]
KITCHEN = [
    ("how many grams in a cup of flour", "1 cup of flour is 125 grams."),
    ("how many grams is a cup of flour", "1 cup of flour is 125 grams."),
    ("how many grams are in a cup of sugar", "1 cup of sugar is 200 grams."),
    ("how much does a cup of flour weigh", "1 cup of flour is 125 grams."),
    ("what is 200 grams of flour in cups", "200 grams of flour is 1.6 cups."),
    ("how many cups is 200 grams of flour", "200 grams of flour is 1.6 cups."),
    ("how many cups of sugar is 100 grams", "100 grams of sugar is half a cup."),
    ("what is 100 grams of butter in cups", "100 grams of butter is about 0.44 cups."),
    ("how many grams of flour in 2 cups", "2 cups of flour is 250 grams."),
    ("how many grams is 2 cups of rice", "2 cups of rice is 370 grams."),
    ("how many grams of butter in a tablespoon", "1 tablespoon of butter is about 14.2 grams."),
    ("how many grams in a stick of butter", "1 stick of butter is about 113 grams."),
    ("how many tablespoons in a stick of butter", "1 stick of butter is 8 tablespoons."),
    ("one and a half cups to grams of sugar", "1 and a half cups of sugar is 300 grams."),
    ("a cup and a half of flour in grams", "1 and a half cups of flour is about 188 grams."),
    ("1 1/2 cups of flour in grams", "1 and a half cups of flour is about 188 grams."),
    ("what's 1 cup of water in grams", "1 cup of water is about 237 grams."),
    ("how many cups is a pound of flour", "1 pound of flour is about 3 and two thirds cups."),
    ("convert 1 pound of butter to cups", "1 pound of butter is 2 cups."),
    ("what is a quarter cup of sugar in grams", "A quarter of a cup of sugar is 50 grams."),
    (
        "how many grams in a cup",
        "That depends on what it is: tell me, like how many grams in a cup of flour.",
    ),
    ("convert 2 cups to ml", "2 cups is about 473 milliliters."),
    ("2 cups in milliliters", "2 cups is about 473 milliliters."),
    ("how many ml in a cup", "1 cup is about 237 milliliters."),
    ("how many ml is half a cup", "Half a cup is about 118 milliliters."),
    ("3/4 cup in ml", "Three quarters of a cup is about 177 milliliters."),
    ("2/3 cup in ml", "Two thirds of a cup is about 158 milliliters."),
    ("how many cups in a liter", "1 liter is about 4 and a quarter cups."),
    ("how many cups in 500 ml", "500 milliliters is about 2.1 cups."),
    ("how many cups in a pint", "1 pint is 2 cups."),
    ("how many cups in a quart", "1 quart is 4 cups."),
    ("how many tablespoons in a cup", "1 cup is 16 tablespoons."),
    ("how many tablespoons in a quarter cup", "A quarter of a cup is 4 tablespoons."),
    ("half a cup in tablespoons", "Half a cup is 8 tablespoons."),
    ("what's 1/3 cup in tablespoons", "A third of a cup is 5 and a third tablespoons."),
    ("what's an eighth of a cup in teaspoons", "An eighth of a cup is 6 teaspoons."),
    ("how many teaspoons in a cup", "1 cup is 48 teaspoons."),
    ("how many tablespoons is 3 teaspoons", "3 teaspoons is 1 tablespoon."),
    ("what is 8 fl oz in ml", "8 fluid ounces is about 237 milliliters."),
    ("how many teaspoons in a tablespoon", "1 tablespoon is 3 teaspoons."),
    ("how many teaspoons are in a tablespoon", "1 tablespoon is 3 teaspoons."),
    ("how many tablespoons in 100 ml", "100 milliliters is about 6 and three quarters tablespoons."),
    ("how many teaspoons in 10 ml", "10 milliliters is about 2 teaspoons."),
    ("how many ml in a tablespoon", "1 tablespoon is about 14.8 milliliters."),
    ("how many ounces in a cup", "1 cup is 8 fluid ounces."),
    ("how many ounces of milk in a cup", "1 cup of milk is 8 fluid ounces."),
    ("how many ounces in 250 grams", "250 grams is about 8.8 ounces."),
    ("what's 100 grams in ounces", "100 grams is about 3.5 ounces."),
    ("how many ounces in a pound", "1 pound is 16 ounces."),
    ("how many grams in a pound", "1 pound is about 454 grams."),
]
TEMPERATURES = [
    ("convert 350 degrees Fahrenheit to Celsius", "350 degrees Fahrenheit is 176.7 degrees Celsius."),
    ("what's 350 f in c", "350 degrees Fahrenheit is 176.7 degrees Celsius."),
    ("what's 350°F in celsius", "350 degrees Fahrenheit is 176.7 degrees Celsius."),
    ("180 celsius in fahrenheit", "180 degrees Celsius is 356 degrees Fahrenheit."),
    ("180 degrees c to f", "180 degrees Celsius is 356 degrees Fahrenheit."),
    ("what temperature is 180c in fahrenheit", "180 degrees Celsius is 356 degrees Fahrenheit."),
    ("what is 200 c in f", "200 degrees Celsius is 392 degrees Fahrenheit."),
    ("convert 25 degrees celsius to fahrenheit", "25 degrees Celsius is 77 degrees Fahrenheit."),
    ("what's 70 degrees fahrenheit in celsius", "70 degrees Fahrenheit is 21.1 degrees Celsius."),
    ("what is 21 degrees in fahrenheit", "21 degrees Celsius is 69.8 degrees Fahrenheit."),
    ("what is minus 40 fahrenheit in celsius", "Minus 40 degrees Fahrenheit is minus 40 degrees Celsius."),
    ("what is -40 fahrenheit in celsius", "Minus 40 degrees Fahrenheit is minus 40 degrees Celsius."),
    ("convert 0 celsius to fahrenheit", "0 degrees Celsius is 32 degrees Fahrenheit."),
]
DISTANCES_AND_WEIGHTS = [
    ("how many kilometers is 5 miles", "5 miles is about 8 kilometers."),
    ("10 miles in kilometers", "10 miles is about 16.1 kilometers."),
    ("how many miles is 10 kilometers", "10 kilometers is about 6.2 miles."),
    ("how far is 26.2 miles in km", "26.2 miles is about 42.2 kilometers."),
    ("how many feet in a mile", "1 mile is 5,280 feet."),
    ("how many meters in a mile", "1 mile is about 1,609 meters."),
    ("how many inches in a foot", "1 foot is 12 inches."),
    ("how many centimeters in an inch", "1 inch is about 2.5 centimeters."),
    ("6 feet in cm", "6 feet is about 183 centimeters."),
    ("how many pounds in a kilo", "1 kilogram is about 2.2 pounds."),
    ("convert 5 kilos to pounds", "5 kilograms is about 11 pounds."),
    ("how many kilos is 10 pounds", "10 pounds is about 4.5 kilograms."),
    ("how many pounds in a stone", "1 stone is 14 pounds."),
    ("how many stone is 70 kilos", "70 kilograms is about 11 stone."),
    ("how many liters in a gallon", "1 gallon is about 3.8 liters."),
]
DATES = [
    ("how many days until Christmas", "27 days until Christmas, on Friday."),
    ("how long until christmas", "27 days until Christmas, on Friday."),
    ("how many sleeps until christmas", "27 sleeps until Christmas, on Friday."),
    ("how many more days until christmas", "27 days until Christmas, on Friday."),
    ("how many days are left until christmas", "27 days until Christmas, on Friday."),
    ("how many weeks until christmas", "3 weeks and 6 days until Christmas, on Friday."),
    ("how many days till new year", "34 days until New Year, on Friday."),
    ("how many days left till new year's eve", "33 days until New Year's Eve, on Thursday."),
    ("days till halloween", "337 days until Halloween, on Sunday."),
    ("how long is it till halloween", "337 days until Halloween, on Sunday."),
    ("how many days until valentine's day", "78 days until Valentine's Day, on Sunday."),
    ("how many days until boxing day", "28 days until Boxing Day, on Saturday."),
    ("how many days until the 3rd of march", "95 days until March 3, on Wednesday."),
    ("how many days until March 3rd", "95 days until March 3, on Wednesday."),
    ("how many days until the twenty first of december", "23 days until December 21, on Monday."),
    ("how many weeks until the 1st of march", "13 weeks and 2 days until March 1, on Monday."),
    ("how many days until the 1st of january 2030", "1,130 days until January 1, 2030, on Tuesday."),
    ("how many days until february 29", "458 days until February 29, on Tuesday."),
    ("how many days until friday", "6 days until Friday."),
    ("how many days since new year", "331 days since New Year."),
    ("how many days has it been since the 1st of january 2000", "9,828 days since January 1, 2000."),
    ("what day is the 4th of July", "July 4 was a Saturday this year."),
    ("what day of the week is December 25", "December 25 is a Friday this year."),
    ("What day is Christmas this year?", "Christmas is a Friday this year."),
    ("what day does christmas fall on", "Christmas is a Friday this year."),
    ("what day will christmas be on next year", "Christmas is a Saturday next year."),
    ("what day of the week is the 1st of January", "January 1 was a Thursday this year."),
    ("what day of the week is the 1st of january next year", "January 1 is a Friday next year."),
    ("what day was the 4th of July 1976", "July 4, 1976 was a Sunday."),
    ("what day was the fourth of july nineteen seventy six", "July 4, 1976 was a Sunday."),
    ("what day of the week was christmas 2020", "Christmas 2020 was a Friday."),
    ("what day of the week is march 3 2027", "March 3, 2027 is a Wednesday."),
    ("what day is new year's eve", "New Year's Eve is a Thursday this year."),
    ("which day is halloween", "Halloween was a Saturday this year."),
    ("what day is february 29", "There's no February 29 in 2026."),
]
SPELLING = [
    ("how do you spell necessary", "Necessary: N-E-C-E-S-S-A-R-Y."),
    ("spell restaurant", "Restaurant: R-E-S-T-A-U-R-A-N-T."),
    ("how do you spell 'accommodate'", "Accommodate: A-C-C-O-M-M-O-D-A-T-E."),
    ("spell the word rhythm", "Rhythm: R-H-Y-T-H-M."),
    ("how is February spelled", "February: F-E-B-R-U-A-R-Y."),
    ("how is restaurant spelt", "Restaurant: R-E-S-T-A-U-R-A-N-T."),
    ("can you spell necessary for me", "Necessary: N-E-C-E-S-S-A-R-Y."),
    ("how do I spell separate", "Separate: S-E-P-A-R-A-T-E."),
    ("how to spell definitely", "Definitely: D-E-F-I-N-I-T-E-L-Y."),
    ("spell the word definitely please", "Definitely: D-E-F-I-N-I-T-E-L-Y."),
    ("what's the spelling of rhythm", "Rhythm: R-H-Y-T-H-M."),
    ("spell out the word onomatopoeia", "Onomatopoeia: O-N-O-M-A-T-O-P-O-E-I-A."),
    ("Jarvis, how do you spell Wednesday", "Wednesday: W-E-D-N-E-S-D-A-Y."),
    # the word as said, not its normal form ("lamps" → "light", "seventeen" → "17", "tv" → "television")
    ("spell lamps", "Lamps: L-A-M-P-S."),
    ("how do you spell seventeen", "Seventeen: S-E-V-E-N-T-E-E-N."),
    ("spell tv", "TV: T-V."),
]
# family → (its table, the everyday intents it may answer with)
FAMILIES = {
    "sums": (SUMS, {"sum", "verbal", "root", "power"}),
    "percents and fractions": (PERCENTS_AND_FRACTIONS, {"percent", "ratio", "fraction"}),
    "kitchen": (KITCHEN, {"convert"}),
    "temperatures": (TEMPERATURES, {"convert"}),
    "distances and weights": (DISTANCES_AND_WEIGHTS, {"convert"}),
    "dates": (DATES, {"until", "since", "weekday"}),
    "spelling": (SPELLING, {"spell"}),
}
ASKED = [(family, text, reply) for family, (table, _) in FAMILIES.items() for text, reply in table]

NOT_EVERYDAY = [
    # general knowledge and the household's own facts: for memory or the language model
    "what is the capital of France", "how many people live in France", "how many people live in Paris",
    "how many days are in a week", "how many weeks are in a year", "how many minutes in an hour",
    "how many days is it until my birthday", "how many days until my birthday",
    "what is the date of Easter 2027", "how long is a marathon", "how long does it take to boil an egg",
    "how many calories in a cup of rice", "how many grams of protein in an egg",
    "how many grams in a cup of coffee beans", "how many cups of coffee did I drink today",
    "how much is a cup of coffee", "how much is 5 pounds in dollars", "what is 2 plus 2 in binary",
    "what is the square root of my age", "what day did the Berlin wall fall",
    "what day of the week was I born", "how many days until the weekend", "who won the game 3-1",
    # spelling without a word to spell
    "spell it out", "spell it out for me please now", "how do you spell it", "how do you spell your name",
    "spell check", "how is dinner", "how are you",
    # the clock and the date intents
    "what time is it", "what's the time", "what's ten to five", "what day is it",
    # timers, alarms, reminders and lists (the planner's)
    "add milk to the shopping list", "add 2 pints of milk to the shopping list",
    "add eggs and bread to my shopping list", "add 5 minutes to the timer",
    "take 5 minutes off the timer", "set a timer for 1 and a half hours", "what's 10 minutes from now",
    "set an alarm for 7", "remind me in 10 minutes to check the oven",
    # the house's devices
    "turn on the kitchen light", "what is the temperature in the kitchen", "set the heating to 21 degrees",
    "turn the oven to 180 degrees", "set the bedroom light to 30%", "dim the kitchen light to 50 percent",
    "make it 2 degrees warmer", "is it 20 degrees outside", "how many lights are on",
]  # fmt: skip
CLOCK = datetime(2026, 11, 28, 18, 0)  # a Saturday


def _route():
    return make_builtin_intents(clock=lambda: CLOCK)


@pytest.mark.parametrize(("family", "text", "reply"), ASKED, ids=[f"{f}: {t}" for f, t, _ in ASKED])
async def test_everyday_facts_are_exact(family: str, text: str, reply: str) -> None:
    route = _route()
    decision = route.accepts(Turn(text))
    assert decision is not None, "no language model for this"
    assert decision.route in {f"intent:everyday.{kind}" for kind in FAMILIES[family][1]}
    assert "".join([p async for p in route.reply(Turn(text))]) == reply


@pytest.mark.parametrize("text", NOT_EVERYDAY)
def test_not_everyday_facts(text: str) -> None:
    decision = _route().accepts(Turn(text))
    assert decision is None or not decision.route.startswith("intent:everyday"), decision


async def test_no_everyday_fact_reaches_the_llm() -> None:
    router = Router([_route(), NeverCalled()])
    for _, text, reply in ASKED:
        assert "".join([p async for p in router.reply(Turn(text))]) == reply, text
        assert router.last_decision is not None and router.last_decision.route.startswith("intent:everyday")
    assert NeverCalled.calls == 0


def test_the_other_intents_phrasings_are_left_to_them() -> None:
    """The everyday intents come before timers, lists and devices: none of their corpus is taken."""
    tests = Path(__file__).parent
    said = [
        line.split(" => ", 1)[0]
        for line in (tests / "planner_phrases.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    corpus = yaml.safe_load((tests / "houses" / "phrases.yaml").read_text(encoding="utf-8"))
    said += [text for case in corpus["cases"] for text in case.get("say", [])]
    assert len(said) > 300
    everyday = EverydayIntents(lambda: CLOCK)
    assert [t for t in said if everyday.match(t, normalise(t)) is not None] == []


def test_the_corpus_is_large_enough() -> None:
    assert len(ASKED) >= 110 and len(NOT_EVERYDAY) >= 25
    assert all(len(table) >= 10 for table, _ in FAMILIES.values())


def test_school_order_and_spoken_numbers() -> None:
    assert evaluate("2 plus 3 times 4 minus 6 divided by 2") == 11
    assert evaluate("minus 5 plus 3") == -2
    assert evaluate("10 minus minus 3") == 13
    assert [say_number(v) for v in (63.0, 2.5, 1234.0, -3.0, 1 / 3)] == [
        "63",
        "2.5",
        "1,234",
        "minus 3",
        "0.333",
    ]


def test_the_recognisers_symbols_become_words() -> None:
    def words(text: str) -> str:
        return " ".join(spoken_symbols(text).split())

    assert words("what's 20% of $60") == "what's 20 percent of 60 dollars"
    assert words("3/4 cup in ml") == "3 over 4 cup in ml"
    assert words("what is -40°F in C") == "what is minus 40 degrees F in C"
    assert words("1,000 - 1 = ?") == "1000 minus 1 ?"
    assert words("2 + 2 × 3 ÷ 4") == "2 plus 2 times 3 divided by 4"
    assert words("turn on the hall light") == "turn on the hall light"
