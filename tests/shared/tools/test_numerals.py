"""Korean numbers in words: Sino-Korean, native, and digits with Sino units."""

from __future__ import annotations

import re

import pytest

from shared.tools import numerals


@pytest.mark.parametrize(
    ("word", "value"),
    [
        ("일", 1),
        ("삼십", 30),
        ("이백오십", 250),
        ("천", 1000),
        ("오천", 5000),
        ("만", 10_000),
        ("십만", 100_000),
        ("5천", 5000),
        ("2만 5천", 25_000),
        ("1,000", 1000),
        ("십삼", 13),
    ],
)
def test_sino_korean_numbers_and_digits_with_sino_units(word: str, value: int) -> None:
    assert numerals.sino(word) == value


NATIVE = [("한", 1), ("하나", 1), ("두", 2), ("세", 3), ("네", 4), ("다섯", 5), ("열", 10)]
NATIVE_TENS = [("열두", 12), ("스무", 20), ("스물다섯", 25), ("서른", 30), ("아흔아홉", 99)]


@pytest.mark.parametrize(("word", "value"), [*NATIVE, *NATIVE_TENS])
def test_native_korean_numbers(word: str, value: int) -> None:
    assert numerals.native(word) == value


@pytest.mark.parametrize("word", ["삼일", "사과", "hello", "열열"])
def test_what_is_not_one_number_is_none(word: str) -> None:
    assert numerals.number(word) is None


def test_a_number_is_found_before_a_counter_and_not_inside_a_word() -> None:
    pattern = re.compile(f"({numerals.NUMBER})\\s*(개|건|명)")

    found = [m.group(1) for m in pattern.finditer("알림 다섯 개, 사용자50명, 2만 5천 건")]

    assert [numerals.number(f) for f in found] == [5, 50, 25_000]
    assert pattern.search("꺼 주세요 건") is None  # "세" ends "주세요"
