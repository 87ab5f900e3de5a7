"""Quantities parsed, not matched: durations, counts, users and request caps."""

from __future__ import annotations

import pytest

from shared.tools import quantities


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("an hour and a half", 5400),
        ("1.5 hours", 5400),
        ("90m", 5400),
        ("3h", 10800),
        ("2h30m", 9000),
        ("2 hours and 30 minutes", 9000),
        ("half a day", 43200),
        ("half an hour", 1800),
        ("a week", 604800),
        ("two days", 172800),
        ("45 minutes", 2700),
        ("forty-five minutes", 2700),
        ("a couple of hours", 7200),
        ("a quarter of an hour", 900),
        ("ninety seconds", 90),
        ("한 시간 반", 5400),
        ("삼십 분", 1800),
        ("이틀", 172800),
        ("반나절", 43200),
        ("일주일", 604800),
        ("1분 반", 90),
        ("3시간", 10800),
        ("1시간 30분", 5400),
        ("두 시간", 7200),
        ("하루 반", 129600),
        ("열두 시간", 43200),
    ],
)
def test_a_duration_in_numerals_or_words_is_read_in_seconds(text: str, seconds: int) -> None:
    assert quantities.durations(f"for {text} please").values == (seconds,)


@pytest.mark.parametrize(
    "text", ["alerts from the last 10 minutes", "what fired 2 hours ago", "10분 전 알림"]
)
def test_a_time_in_the_past_is_not_a_duration(text: str) -> None:
    assert quantities.durations(text).values == ()


@pytest.mark.parametrize(
    ("text", "vague"),
    [
        ("for a few hours", "a few"),
        ("until tomorrow", "until"),
        ("내일까지", "내일까지"),
        ("몇 시간만", "몇 시간"),
        ("forever", "forever"),
    ],
)
def test_words_that_name_no_amount_are_vague(text: str, vague: str) -> None:
    found = quantities.durations(text)

    assert (found.values, found.vague) == ((), vague)


def test_two_durations_are_both_found() -> None:
    assert quantities.durations("for 30 minutes, no, 45 minutes").values == (1800, 2700)


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("top 5 alerts", 5),
        ("top five alerts", 5),
        ("the last three deploys", 3),
        ("the 7 most recent deployments", 7),
        ("latest twenty releases", 20),
        ("show 4 alerts", 4),
        ("최근 3개", 3),
        ("다섯 개만", 5),
        ("스무 건", 20),
        ("최근3개", 3),
    ],
)
def test_a_count_is_read_as_a_limit(text: str, count: int) -> None:
    assert quantities.counts(text).values == (count,)


@pytest.mark.parametrize(
    "text",
    ["alerts from the last 10 minutes", "부하 테스트 한 번 돌려", "지난 3일 배포", "my agents"],
)
def test_durations_and_once_are_not_counts(text: str) -> None:
    assert quantities.counts(text).values == ()


@pytest.mark.parametrize(
    ("text", "users"),
    [
        ("with 50 users", 50),
        ("200 concurrent users", 200),
        ("with fifty users", 50),
        ("a concurrency of 20", 20),
        ("사용자 50명", 50),
        ("동시 접속 100", 100),
        ("유저 오십 명", 50),
        ("동시 사용자 300명", 300),
    ],
)
def test_load_test_users(text: str, users: int) -> None:
    assert quantities.users(text).values == (users,)


@pytest.mark.parametrize(
    ("text", "cap"),
    [
        ("cap at 5000 requests", 5000),
        ("max 5k requests", 5000),
        ("up to five thousand requests", 5000),
        ("capped at 1,000 requests", 1000),
        ("요청 5000건까지", 5000),
        ("최대 3000건", 3000),
        ("요청 만 건까지", 10_000),
        ("5천 건의 요청", 5000),
    ],
)
def test_request_caps(text: str, cap: int) -> None:
    assert quantities.request_caps(text).values == (cap,)


@pytest.mark.parametrize(
    ("text", "left"),
    [
        ("run heavy with 50 users for 2 minutes, 300 requests", []),
        ("헤비 부하 테스트 사용자 50명, 요청 5000건까지, 30초", []),
        ("run heavy, stop at 1000 per second", ["1000"]),
        ("mute chat alerts for 2 hours on host 7", ["7"]),
        ("스파이크 부하 테스트 세 개 돌려", ["세"]),
    ],
)
def test_numbers_no_reader_takes_are_left_over(text: str, left: list[str]) -> None:
    assert quantities.leftover_numbers(text) == left
