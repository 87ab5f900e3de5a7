"""Quantities in a command, parsed rather than matched: durations, counts, load-test users
and request caps, in English and Korean, in numerals or words.

English numbers in words become digits through `text2num` ("forty-five minutes",
"top five", "two thousand requests"); a duration's span ("1.5 hours", "2h30m", "90m",
"2 hours 30 minutes") is read by `pytimeparse`. Korean numbers are read by
`shared.tools.numerals`, Korean durations here ("한 시간 반", "삼십 분", "이틀",
"반나절", "일주일", "1분 반"). Each reader answers every distinct value it found
(`Found.values`), so a caller can tell none from one from too many, and words that name an
amount without giving one ("a few hours", "until tomorrow", "몇 시간") as `Found.vague`.
Every reader takes lowercased text with single spaces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pytimeparse import parse as parse_timespan
from text_to_num import alpha2digit

from shared.tools.numerals import NUMBER
from shared.tools.numerals import number as korean_number
from shared.tools.patterns import LazyPattern, lazy

MINUTE, HOUR, DAY, WEEK = 60, 3600, 86_400, 604_800


@dataclass(frozen=True)
class Found:
    values: tuple[float, ...] = ()
    vague: str | None = None

    @property
    def one(self) -> float | None:
        return self.values[0] if len(self.values) == 1 else None


def _distinct(values: Iterable[float]) -> tuple[float, ...]:
    return tuple(dict.fromkeys(values))


# -- English ---------------------------------------------------------------------------

_EN_UNITS = (
    ("weeks", "week", "wks", "wk", "w"),
    ("days", "day", "d"),
    ("hours", "hour", "hrs", "hr", "h"),
    ("minutes", "minute", "mins", "min", "m"),
    ("secs", "sec", "seconds", "s"),
)
_EN_UNIT = "|".join(word for words in _EN_UNITS for word in words)
_EN_SECONDS = dict(zip(("w", "d", "h", "m", "s"), (WEEK, DAY, HOUR, MINUTE, 1), strict=True))
_EN_UNIT_WORD = r"(?:weeks?|days?|hours?|hrs?|minutes?|mins?|secs?)"
_EN_PART = rf"(\d+(?:\.\d+)?)\s*(?:{_EN_UNIT})(?![a-z])(?!\s*(?:requests?|reqs?|users?|calls))"
_EN_SPAN = lazy(rf"{_EN_PART}(?:\s*(?:,\s*|and\s+)?{_EN_PART})*")
_EN_WINDOW = lazy(r"(?:last|past|previous|recent|latest|within|over)\s+$")
_EN_AGO = lazy(r"^\s*(?:ago|before|earlier|back)\b")
_EN_VAGUE = lazy(
    r"\b(?:a few|few|several|some|a while|a bit|a little|a moment|for now|until|till|"
    r"untill|through|overnight|tonight|tomorrow|(?:the|this) weekend|all day|all night|"
    r"forever|permanently|indefinitely|for good|end of (?:the )?day|eod|rest of the day)\b"
)
# Words text2num would read as ordinals or not at all, rewritten first.
_EN_BEFORE = (
    (lazy(r"\bseconds?\b"), "secs"),  # "a second" is not "a 2nd"
    (lazy(r"(?<=[a-z0-9])-(?=(?:minute|min|hour|hr|day|week|sec)s?\b)"), " "),  # two-hour
    (lazy(r"\bhalf[- ]an?[- ]hour\b|\ba half[- ]hour\b|\bhalf[- ]hour\b"), "30 mins"),
    (lazy(r"\bhalf[- ]a[- ]day\b|\ba half[- ]day\b|\bhalf[- ]day\b"), "12 hours"),
    (lazy(r"\bhalf[- ]a[- ]minute\b|\bhalf[- ]a[- ]min\b"), "30 secs"),
    (lazy(r"\bhalf[- ]a[- ]week\b"), "84 hours"),
    (lazy(r"\b(?:a )?quarter(?: of an | |-)hour\b"), "15 mins"),
    (lazy(r"\bthree quarters of an hour\b"), "45 mins"),
    (lazy(r"\ba fortnight\b"), "14 days"),
    (lazy(r"\ba couple(?: of)?\b"), "2"),
    (lazy(r"\ba dozen\b"), "12"),
)
_EN_AFTER = (
    # "an hour", "a day": one of the unit
    (lazy(rf"\b(?:a|an|one)\s+(?={_EN_UNIT_WORD}\b)"), "1 "),
    # "30-minute", "2-hour"
    (lazy(rf"(\d)-(?={_EN_UNIT_WORD}\b)"), r"\1 "),
)
_AND_A_HALF = (
    lazy(rf"(\d+(?:\.\d+)?)\s+and a half\s+({_EN_UNIT_WORD})"),
    lazy(rf"(\d+(?:\.\d+)?)\s+({_EN_UNIT_WORD})\s+and a half\b"),
)
_THOUSANDS = lazy(r"(\d+(?:\.\d+)?)\s*(k|thousand)\b")
_SEPARATED = lazy(r"(?<=\d),(?=\d{3}\b)")


def english(text: str) -> str:
    """The text with English numbers in words as digits: "an hour and a half" -> "1.5
    hours", "top five" -> "top 5", "5k" -> "5000"."""
    text = _SEPARATED.sub("", text)
    for pattern, replacement in _EN_BEFORE:
        text = pattern.sub(replacement, text)
    text = alpha2digit(text, "en", threshold=0)
    for pattern, replacement in _EN_AFTER:
        text = pattern.sub(replacement, text)
    for pattern in _AND_A_HALF:
        text = pattern.sub(lambda m: f"{float(m[1]) + 0.5:g} {m[2]}", text)
    return _THOUSANDS.sub(lambda m: f"{float(m[1]) * 1000:g}", text)


def _english_seconds(span: str) -> float:
    cleaned = re.sub(r",|\band\b", " ", span)
    parsed = parse_timespan(" ".join(cleaned.split()))
    if parsed is not None:
        return float(parsed)
    total = 0.0  # a span pytimeparse does not take ("1.5 d 3 h"): unit by unit
    for amount, unit in re.findall(rf"(\d+(?:\.\d+)?)\s*({_EN_UNIT})(?![a-z])", span):
        total += float(amount) * _EN_SECONDS[unit[0]]
    return total


def _english_durations(text: str) -> list[tuple[re.Match[str], float]]:
    found = []
    for match in _EN_SPAN.finditer(text):
        if _EN_WINDOW.search(text[: match.start()]) or _EN_AGO.match(text[match.end() :]):
            continue  # "in the last 10 minutes", "10 minutes ago": a time, not a length
        found.append((match, _english_seconds(match.group(0))))
    return found


# -- Korean ----------------------------------------------------------------------------

_KO_WORDS = (
    (lazy(r"(?:1|한|일)\s?주일"), "7일"),
    (lazy(r"반\s?나절|한\s?나절"), "12시간"),
    (lazy(r"반\s?시간"), "30분"),
    (lazy(r"하루"), "1일"),
    (lazy(r"이틀"), "2일"),
    (lazy(r"사흘"), "3일"),
    (lazy(r"나흘"), "4일"),
    (lazy(r"닷새"), "5일"),
    (lazy(r"엿새"), "6일"),
    (lazy(r"이레"), "7일"),
    (lazy(r"열흘"), "10일"),
    (lazy(r"보름"), "15일"),
)
_KO_SECONDS = {"주": WEEK, "일": DAY, "시간": HOUR, "분": MINUTE, "초": 1}
_KO_UNIT = r"(주일|주|일|시간|분|초)"
# What may follow a unit: a particle, a space or nothing ("사일런스" is no "4 days").
_KO_AFTER = (
    r"(?=$|[\s\d.,!?~)]|동안|간|만|짜리|정도|쯤|이|을|를|은|는|의|에|로|으로|까지|후|뒤|전|씩|"
    r"내내|치|반|가|도|이나|만큼|이상|이하|내|째|만에|이면|면)"
)
_KO_PART = rf"({NUMBER})\s*{_KO_UNIT}{_KO_AFTER}(\s?반)?"
_KO_SPAN = lazy(rf"{_KO_PART}(?:\s*{_KO_PART})*")
_KO_PART_ONE = lazy(_KO_PART)
_KO_WINDOW = lazy(r"(?:지난|최근|이전)\s*$")
_KO_AGO = lazy(r"^\s*(?:전|前)")
_KO_VAGUE = lazy(
    r"몇\s?(?:분|시간|일|주)|잠깐|잠시|한동안|당분간|영원히|영구|무기한|계속|밤새|"
    r"(?:내일|오늘|밤|아침|저녁|오후|오전|주말|퇴근|출근|[월화수목금토일]요일|\d+\s?시|끝날\s?때)"
    r"\s?(?:까지|동안)"
)


def korean(text: str) -> str:
    """The text with Korean day words as numbers: "이틀" -> "2일", "반나절" -> "12시간"."""
    for pattern, replacement in _KO_WORDS:
        text = pattern.sub(replacement, text)
    return text


def _korean_durations(text: str) -> list[tuple[re.Match[str], float]]:
    found = []
    for match in _KO_SPAN.finditer(text):
        if _KO_WINDOW.search(text[: match.start()]) or _KO_AGO.match(text[match.end() :]):
            continue
        total = 0.0
        for part in _KO_PART_ONE.finditer(match.group(0)):
            amount = korean_number(part.group(1))
            if amount is None:
                break
            unit = _KO_SECONDS["주" if part.group(2).startswith("주") else part.group(2)]
            total += (amount + (0.5 if part.group(3) else 0)) * unit
        else:
            found.append((match, total))
    return found


# -- the readers -----------------------------------------------------------------------


def durations(text: str) -> Found:
    """Every distinct duration, in seconds: "an hour and a half" and "한 시간 반" 5400."""
    values = [value for _, value in _duration_spans(text)]
    vague = _EN_VAGUE.search(text) or _KO_VAGUE.search(text)
    return Found(_distinct(values), vague.group(0) if vague else None)


_EN_WINDOW_UNIT = lazy(
    r"\b(?:last|past|previous|latest|recent|within the|in the last|over the)\s+"
    r"(minute|hour|day|week)\b"
)
_WINDOW_UNITS = {"minute": MINUTE, "hour": HOUR, "day": DAY, "week": WEEK}


def windows(text: str) -> Found:
    """Time windows a read looks back over, in seconds: "in the last 30 minutes", "the
    past hour", "지난 2시간", "최근 30분" (the spans `durations` leaves out)."""
    spelt = _spelt(text)
    values = [float(_WINDOW_UNITS[m.group(1)]) for m in _EN_WINDOW_UNIT.finditer(spelt)]
    for match, seconds in _all_spans(spelt):
        before = spelt[: match.start()]
        if _EN_WINDOW.search(before) or _KO_WINDOW.search(before):
            values.append(seconds)
    return Found(_distinct(values))


def _all_spans(spelt: str) -> list[tuple[re.Match[str], float]]:
    """Every duration span of spelt text, windows included."""
    found = [(m, _english_seconds(m.group(0))) for m in _EN_SPAN.finditer(spelt)]
    for match in _KO_SPAN.finditer(spelt):
        total = 0.0
        for part in _KO_PART_ONE.finditer(match.group(0)):
            amount = korean_number(part.group(1))
            if amount is None:
                break
            unit = _KO_SECONDS["주" if part.group(2).startswith("주") else part.group(2)]
            total += (amount + (0.5 if part.group(3) else 0)) * unit
        else:
            found.append((match, total))
    return found


def _spelt(text: str) -> str:
    """The text both readers of durations read: Korean day words and English numbers as
    digits."""
    return english(korean(text))


def _duration_spans(text: str) -> list[tuple[re.Match[str], float]]:
    spelt = _spelt(text)
    return _english_durations(spelt) + _korean_durations(spelt)


def _numbers(text: str, patterns: Iterable[LazyPattern]) -> Found:
    values = []
    for pattern in patterns:
        for match in pattern.finditer(text):
            value = korean_number(match.group(1))
            if value is not None:
                values.append(value)
    return Found(_distinct(values))


_NOT_A_COUNT = rf"(?!\s*(?:{_EN_UNIT})(?![a-z]))(?!\s*(?:users?|requests?|reqs?|%|percent))"
_EN_COUNTS = (
    lazy(
        r"\b(?:top|last|latest|recent|newest|first|1st|past|previous|most recent|only|just|"
        r"max|maximum|at most|up to|limit(?: to| of)?)"
        rf"\s+(\d+)(?![\d.]){_NOT_A_COUNT}"
    ),
    lazy(r"\b(\d+)\s+(?:most recent|latest|last|newest|recent|most recently)\b"),
    lazy(
        r"\b(\d+)\s+(?:[a-z-]+\s+){0,2}?(?:alerts?|deploys?|deployments?|releases?|runs?|"
        r"silences?|agents?|results?|items?|entries|events?|incidents?|ones|rows|records|"
        r"load[- ]?tests?|tests?)\b"
    ),
)
_KO_NOT_A_COUNT = r"(?!\s*(?:주|일|시간|분|초|명|%|퍼센트))"
_KO_COUNTS = (
    lazy(rf"(?:최근|마지막|최신|상위|가장\s?최근|지난)\s*({NUMBER}){_KO_NOT_A_COUNT}"),
    lazy(rf"({NUMBER})\s*(?:개|건)"),
)


def counts(text: str) -> Found:
    """How many items a read asks for: "top 5", "the last three", "최근 3개", "스무 건"."""
    english_values = _numbers(english(text), _EN_COUNTS).values
    korean_values = _numbers(text, _KO_COUNTS).values
    return Found(_distinct(v for v in english_values + korean_values if v >= 1))


_EN_USERS = (
    lazy(
        r"\b(\d+)\s*(?:concurrent|simultaneous|parallel|virtual|active|fake|simulated)?\s*"
        r"(?:users?|vus?|clients?|connections?|sessions?|workers?|people)\b"
    ),
    lazy(r"\b(?:concurrency|users?|vus)\s*(?:of|at|=|:|to)?\s*(\d+)\b(?!\s*(?:requests?))"),
)
_KO_USERS = (
    lazy(
        r"(?:사용자|유저|동시\s?접속자?|동시\s?사용자|가상\s?사용자|동접|접속자|동시성)\s*(?:수)?\s*"
        rf"(?:를|을|은|는|가|이)?\s*(?:최대\s*)?({NUMBER})(?!\s*(?:건|개|회|번|초|분|시간))"
    ),
    lazy(rf"({NUMBER})\s*명"),
)


def users(text: str) -> Found:
    """Load-test users: "50 users", "50 concurrent users", "사용자 50명", "동시 접속 100"."""
    return Found(
        _distinct(_numbers(english(text), _EN_USERS).values + _numbers(text, _KO_USERS).values)
    )


_EN_REQUESTS = (
    lazy(r"\b(\d+)\s*(?:total\s+|max\s+|maximum\s+|http\s+)?(?:requests?|reqs?|calls|hits)\b"),
    lazy(r"\b(?:requests?|reqs?)\s*(?:of|at|=|:|to|cap(?:ped)? at|max|limit)?\s*(\d+)\b"),
)
_KO_REQUESTS = (
    lazy(
        r"(?:요청|리퀘스트|호출)\s*(?:수)?\s*(?:를|을|은|는|이|가)?\s*(?:최대\s*)?"
        rf"({NUMBER})(?!\s*(?:명|초|분|시간))"
    ),
    lazy(rf"({NUMBER})\s*(?:건|개|회|번)\s*(?:의\s*)?(?:요청|리퀘스트|호출)"),
    lazy(rf"최대\s*({NUMBER})\s*(?:건|회|번)"),
    lazy(
        rf"({NUMBER})\s*(?:건|회|번)\s*(?:까지|만|채우면|에서\s?(?:멈|중지|끝)|후\s?(?:중지|종료))"
    ),
)


def request_caps(text: str) -> Found:
    """A load test's request cap: "cap at 5000 requests", "5k requests", "요청 5000건까지"."""
    return Found(
        _distinct(
            _numbers(english(text), _EN_REQUESTS).values + _numbers(text, _KO_REQUESTS).values
        )
    )


_KO_COUNTED = lazy(rf"({NUMBER})\s*(?:건|개|명)")
_DIGITS = lazy(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.]|%)")


def leftover_numbers(text: str) -> list[str]:
    """Numbers no reader here takes (not a duration, users or a request cap), in words or
    digits: a changing command that gives one says something its plan would drop."""
    english_text = _spelt(text)
    for match, _ in sorted(_duration_spans(text), key=lambda found: -found[0].start()):
        english_text = english_text[: match.start()] + " " + english_text[match.end() :]
    for pattern in (*_EN_USERS, *_KO_USERS, *_EN_REQUESTS, *_KO_REQUESTS):
        english_text = pattern.sub(" ", english_text)
    found = [m.group(1) for m in _KO_COUNTED.finditer(english_text)]
    found += _DIGITS.findall(_KO_COUNTED.sub(" ", english_text))
    return found
