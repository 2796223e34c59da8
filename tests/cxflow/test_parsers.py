"""Tests for the stdlib-only slot value parsers in ``cxflow._parsers``."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxflow._parsers import (
    MAX_CHARS,
    normalize,
    parse_choice,
    parse_date,
    parse_float,
    parse_int,
    parse_money,
    parse_name,
    parse_pattern,
    parse_phone,
    parse_yes_no,
)

TODAY = date(2024, 5, 10)
PLANS = ["basic", "premium_plan", "economy", "basic_economy", "business"]


# --------------------------------------------------------------------------- parse_int


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", 3),
        ("I want 2", 2),
        ("-4", -4),
        ("I want 2.", 2),
        ("1,200 units", 1200),
        ("two", 2),
        ("twenty five", 25),
        ("Twenty-Five please", 25),
        ("a couple of them", 2),
        ("a hundred and five", 105),
        ("one thousand two hundred", 1200),
        ("zero", 0),
        ("nineteen eighty five", 19),  # "eighty" cannot follow a teen: stop there
        ("2.5 or 3", 3),  # decimals are skipped, the next integer wins
        ("three lines, not 5", 3),  # first by position
        ("born June 15, 1985 and 2 kids", 2),  # date digits are ignored
        ("call 555 123 2002 for 4 lines", 4),  # phone digits are ignored
        ("at 3:30 give me 7", 7),
        ("order #123 has 6 items", 6),
        ("L1234", None),
        ("2gb", None),
        ("5551232002", None),  # over nine digits: an id, not a quantity
        ("3-4", None),
        ("no", None),
        ("", None),
        ("someone", None),
    ],
)
def test_parse_int(text: str, expected: int | None) -> None:
    assert parse_int(text) == expected


# --------------------------------------------------------------------------- parse_float


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2.5", 2.5),
        ("2 GB", 2.0),
        ("1.5gb", 1.5),
        ("-0.5", -0.5),
        ("1,234.5 MB", 1234.5),
        ("half a gig", 0.5),
        ("two and a half gigs", 2.5),
        ("ten", 10.0),
        ("on 2024-05-10 I used 3.25", 3.25),
        ("1.2.3", None),
        ("none", None),
    ],
)
def test_parse_float(text: str, expected: float | None) -> None:
    assert parse_float(text) == expected


# --------------------------------------------------------------------------- parse_money


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$45", Decimal("45")),
        ("$ 45.99 please", Decimal("45.99")),
        ("45.50", Decimal("45.50")),
        ("45 dollars", Decimal("45")),
        ("USD 12.5", Decimal("12.5")),
        ("12.5 usd", Decimal("12.5")),
        ("1,234.56", Decimal("1234.56")),
        ("$1,234.56, thanks", Decimal("1234.56")),
        ("45 dollars and 50 cents", Decimal("45.50")),
        ("twenty bucks", Decimal("20")),
        ("it was 30 or $45", Decimal("45")),  # currency-marked beats bare
        ("US$ 5", Decimal("5")),
        ("12$", Decimal("12")),
        ("refund -5", None),
        ("nothing", None),
    ],
)
def test_parse_money(text: str, expected: Decimal | None) -> None:
    assert parse_money(text) == expected


# --------------------------------------------------------------------------- parse_date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1985-06-15", date(1985, 6, 15)),
        ("born on 1985/6/15.", date(1985, 6, 15)),
        ("06/15/1985", date(1985, 6, 15)),
        ("15/06/1985", date(1985, 6, 15)),  # first part cannot be a month -> D/M/Y
        ("03/04/2020", date(2020, 3, 4)),  # ambiguous -> US M/D/Y
        ("6/15/85", date(1985, 6, 15)),
        ("6/15/30", date(2030, 6, 15)),
        ("15 June 1985", date(1985, 6, 15)),
        ("June 15, 1985", date(1985, 6, 15)),
        ("Jun 15 1985", date(1985, 6, 15)),
        ("15th of June 1985", date(1985, 6, 15)),
        ("Sept. 3rd, 2021", date(2021, 9, 3)),
        ("my DOB is 1-Feb-1990", date(1990, 2, 1)),
        ("today", TODAY),
        ("tomorrow please", date(2024, 5, 11)),
        ("the day after tomorrow", date(2024, 5, 12)),
        ("yesterday", date(2024, 5, 9)),
        ("I was born june 15th 1985, not today", date(1985, 6, 15)),
        ("Feb 30 1990", None),
        ("02/30/1990", None),
        ("Feb 30 1990, sorry, March 1 1990", date(1990, 3, 1)),
        ("13/13/2020", None),
        ("June 15", None),  # no year
        ("mayor of 2020", None),
        ("555-123-2002", None),
    ],
)
def test_parse_date(text: str, expected: date | None) -> None:
    assert parse_date(text, today=TODAY) == expected


def test_parse_date_defaults_to_real_today() -> None:
    assert parse_date("today") == date.today()


# --------------------------------------------------------------------------- parse_phone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("555-123-2002", "555-123-2002"),
        ("(555) 123-2002", "555-123-2002"),
        ("(555)123-2002", "555-123-2002"),
        ("555 123 2002", "555-123-2002"),
        ("5551232002", "555-123-2002"),
        ("+1 555 123 2002", "555-123-2002"),
        ("1-555-123-2002", "555-123-2002"),
        ("my number is 555.123.2002.", "555-123-2002"),
        ("55512320021", None),
        ("123-45-6789", None),
        ("order W5551232002", None),
        ("call me", None),
    ],
)
def test_parse_phone(text: str, expected: str | None) -> None:
    assert parse_phone(text) == expected


# --------------------------------------------------------------------------- parse_pattern


@pytest.mark.parametrize(
    ("text", "pattern", "upper", "expected"),
    [
        ("order #W1234567 please", r"#W\d{7}", False, "#W1234567"),
        ("order #w1234567", r"#W\d{7}", False, None),
        ("order #w1234567", r"#W\d{7}", True, "#W1234567"),
        ("L1234", re.compile(r"L\d{4}"), False, "L1234"),
        ("line l1234", r"L\d{4}", True, "L1234"),
        ("XL12345", r"L\d{4}", False, None),  # glued to other alphanumerics
        ("my reservation is abc123", r"[A-Z0-9]{6}", True, "ABC123"),
        ("please check ABC123", r"[A-Z0-9]{6}", True, "ABC123"),  # digit beats "please"
        ("please check hatwcd", r"[A-Z0-9]{6}", True, "HATWCD"),  # common word ranked last
        ("code is HATHAT ok", r"[A-Z0-9]{6}", False, "HATHAT"),
        ("nothing here", r"[A-Z]\d{4}", False, None),
        ("my line is L1234.", r"^L\d{4}$", False, "L1234"),  # schema anchors are dropped
        ("my line is l1234", r"\AL\d{4}\Z", True, "L1234"),
        ("costs 5$ now", r"\d\$", False, "5$"),  # an escaped dollar is not an anchor
    ],
)
def test_parse_pattern(
    text: str, pattern: re.Pattern[str] | str, upper: bool, expected: str | None
) -> None:
    assert parse_pattern(text, pattern, upper=upper) == expected


def test_parse_pattern_bad_pattern_is_a_programming_error() -> None:
    with pytest.raises(re.error):
        parse_pattern("abc", "(")


# --------------------------------------------------------------------------- parse_yes_no


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True),
        ("Yeah!", True),
        ("yep", True),
        ("sure", True),
        ("ok", True),
        ("Okay.", True),
        ("go ahead", True),
        ("please do", True),
        ("confirm", True),
        ("that's right", True),
        ("thats correct", True),
        ("correct", True),
        ("sounds good", True),
        ("Yes, please go ahead.", True),
        ("no problem", True),
        ("sure, why not", True),
        ("yes, cancel it", True),  # bare "cancel" is the action, not a refusal
        ("y", True),
        ("no", False),
        ("nope", False),
        ("don't", False),
        ("do not", False),
        ("cancel that", False),
        ("not now", False),
        ("wrong", False),
        ("that's not right", False),
        ("that\u2019s not correct", False),
        ("no, don't", False),
        ("not ok", False),
        ("don't confirm", False),
        ("absolutely not", False),
        ("N", False),
        ("yes... actually no", False),  # last answer wins
        ("no wait, yes", True),
        ("not sure", None),
        ("I'm not sure", None),
        ("I don't know", None),
        ("yes, hmm, maybe", None),  # a trailing hedge wins too
        ("maybe... yes", True),
        ("hello there", None),
        ("", None),
    ],
)
def test_parse_yes_no(text: str, expected: bool | None) -> None:
    assert parse_yes_no(text) is expected


# --------------------------------------------------------------------------- parse_choice


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("premium plan please", "premium_plan"),
        ("PREMIUM_PLAN", "premium_plan"),
        ("basic economy", "basic_economy"),  # longest mention wins
        ("just economy", "economy"),
        ("basic", "basic"),
        ("premum plan", "premium_plan"),  # typo
        ("I want the bussiness class", "business"),
        ("bizness", "business"),
        ("basic or business?", None),  # two different choices -> ambiguous
        ("something else entirely", None),
        ("", None),
    ],
)
def test_parse_choice(text: str, expected: str | None) -> None:
    assert parse_choice(text, PLANS) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("biz please", "business"),
        ("the cheapest one", "basic"),
        ("first clas", "business"),  # fuzzy also covers aliases
        ("cheapest or biz", None),
    ],
)
def test_parse_choice_aliases(text: str, expected: str | None) -> None:
    aliases = {"Business": ["biz", "first class"], "basic": "cheapest", "unknown": ["cheap"]}
    assert parse_choice(text, PLANS, aliases=aliases) == expected


def test_parse_choice_fuzzy_tie_and_cutoff() -> None:
    assert parse_choice("cax", ["cat", "car"], cutoff=0.6) is None  # equally good
    assert parse_choice("cax", ["cat", "car"]) is None  # below default cutoff
    assert parse_choice("premum", ["premium"], cutoff=0.95) is None
    assert parse_choice("Silver", ["Gold", "Silver"]) == "Silver"  # canonical spelling
    assert parse_choice("gold", []) is None


# --------------------------------------------------------------------------- parse_name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my name is John Smith", "John Smith"),
        ("it's john smith", "John Smith"),
        ("John Smith", "John Smith"),
        ("JOHN SMITH", "John Smith"),
        ("Name: ludwig van beethoven", "Ludwig van Beethoven"),
        ("this is mary-jane o'brien calling", "Mary-Jane O'Brien"),
        ("My name is John Smith and my zip is 12345", "John Smith"),
        ("Hi, I'm Dr. Jane DOE.", "Jane Doe"),
        ("my name is Will Smith", "Will Smith"),
        ("Ronald McDonald", "Ronald McDonald"),
        ("Will Smith", None),  # uncued and "will" is a common word
        ("yes please", None),
        ("I'm looking for help", None),
        ("i am not sure", None),
        ("I have 2 cats", None),
        ("john", None),
        ("the quick brown fox jumps over the lazy dog", None),
        ("my name is 12345", None),
    ],
)
def test_parse_name(text: str, expected: str | None) -> None:
    assert parse_name(text) == expected


# --------------------------------------------------------------------------- normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Yes...   I'd like $45.50, (please)!  ", "yes i'd like $45.50 please"),
        ("That\u2019s RIGHT", "that's right"),
        ("-4 and --", "-4 and"),
        ("a\x00b\tc", "a b c"),
        ("", ""),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


# --------------------------------------------------------------------------- robustness

PARSERS: list[Callable[[str], Any]] = [
    normalize,
    parse_int,
    parse_float,
    parse_money,
    lambda t: parse_date(t, today=TODAY),
    parse_phone,
    parse_yes_no,
    parse_name,
    lambda t: parse_choice(t, PLANS, aliases={"business": ["biz"]}),
    lambda t: parse_pattern(t, r"[A-Z0-9]{6}", upper=True),
    lambda t: parse_pattern(t, r"#W\d{7}"),
]

HOSTILE = [
    "9" * 100_000,
    "a1 " * 40_000,
    "\x00\x01\x7f\u200b" * 25_000,
    "1-" * 50_000,
    "(" * 100_000,
    "." * 99_999 + "a",
    "one and " * 20_000,
    "June 1 " * 20_000,
    "not " * 30_000,
    "my name is " * 10_000,
    "".join(chr(i) for i in range(1, 5000)) * 20,
]


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: repr(t[:12]))
def test_hostile_input_is_fast_and_safe(text: str) -> None:
    start = time.perf_counter()
    for parser in PARSERS:
        parser(text)
    assert time.perf_counter() - start < 1.0


def test_only_the_first_max_chars_are_read() -> None:
    tail = " " * MAX_CHARS + "555-123-2002 yes 42 John Smith 1985-06-15 $5"
    assert [f(tail) for f in PARSERS[1:8]] == [None] * 7


def test_non_string_input_is_treated_as_empty() -> None:
    for bad in (None, 42, b"yes"):
        for parser in PARSERS:
            assert parser(bad) in (None, "")


@settings(max_examples=200, database=None, deadline=None)
@given(st.text(max_size=300))
def test_parsers_never_raise(text: str) -> None:
    for parser in PARSERS:
        parser(text)


@pytest.mark.parametrize(
    "text",
    [
        "my name is Maya Okafor\nI was born on 1988-03-09",
        "Maya Okafor\nI was born on 1988-03-09",
        "Maya Okafor, please",
    ],
)
def test_a_name_ends_at_the_end_of_its_line(text: str) -> None:
    assert parse_name(text) == "Maya Okafor"
