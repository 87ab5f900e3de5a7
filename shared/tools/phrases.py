"""A deterministic reading of English and Korean requests: which tool, with which arguments.

The offline model calls a tool only when a message clearly asks for what the tool gives,
and the offline ops-command parser picks its tool the same way. Each reader answers the
arguments for its tool, or None when the text does not ask for it; `read` tries them in
order, changing tools first (a request to silence chat alerts mentions alerts too).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Reader = Callable[[str], dict[str, Any] | None]

_SCENARIOS = {
    "light": ("light", "라이트", "가벼운", "가볍게", "경량"),
    "medium": ("medium", "미디엄", "중간"),
    "heavy": ("heavy", "헤비", "무거운", "고부하"),
    "spike": ("spike", "스파이크"),
}
_SOURCES = {
    "chat": ("chat", "채팅", "대화"),
    "loadtest": ("load test", "load-test", "loadtest", "부하 테스트", "부하테스트"),
    "deploy": ("deploy", "배포"),
    "monitoring": ("monitoring", "모니터링"),
    "dead-letter": ("dead letter", "dead-letter", "데드레터", "데드 레터"),
}
_LOADTEST = re.compile(r"load[ -]?tests?|부하 ?테스트|스트레스 ?테스트|stress test")
_SILENCE_ID = re.compile(r"\bsil_[0-9a-f]{8,64}\b")
_KOREAN_NUMBERS = {"한": 1, "두": 2, "세": 3, "네": 4, "다섯": 5, "여섯": 6, "열두": 12}
_UNITS = {"minute": 1, "min": 1, "분": 1, "hour": 60, "hr": 60, "시간": 60, "day": 1440, "일": 1440}
_DURATION = re.compile(
    r"(\d+|an?|one|two|three|half an?|한|두|세|네|다섯|여섯|열두)\s*"
    r"(minutes?|mins?|hours?|hrs?|days?|분|시간|일)(?![a-z])"
)
_WORD_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3}
# Double (straight, curly U+201C/D) and corner quotes first; single quotes only around a
# phrase (an apostrophe inside "I'm" is not a quote).
_QUOTED = (
    re.compile('["\u201c\u300c](.+?)["\u201d\u300d]'),
    re.compile("(?:^|\\s)['\u2018](.+?)['\u2019](?=\\s|$|[.,?!:])"),
)
# Questions about a thing rather than requests to the platform.
_ABOUT = (
    "what is",
    "what's the best",
    "how do i",
    "how to",
    "explain",
    "뭐야",
    "방법",
    "어떻게 만들",
    "설정하는",
)
# Requests to change what only the read tools name: no tool does them.
_WRITES = ("delete", "remove", "create", "rename", "삭제", "만들어", "지워")
_SECONDS = re.compile(r"(\d+)\s*(seconds?|secs?|s\b|초)")


def _has(text: str, *words: str) -> bool:
    return any(word in text for word in words)


def _named(text: str, names: dict[str, tuple[str, ...]]) -> str | None:
    return next((name for name, words in names.items() if _has(text, *words)), None)


def duration_minutes(text: str) -> int | None:
    """`for an hour` / `30 minutes` / `한 시간` / `하루` as minutes, or None."""
    if "하루" in text or "a day" in text or "one day" in text:
        return 1440
    if "half an hour" in text or "30분" in text.replace(" ", ""):
        return 30
    found = _DURATION.search(text)
    if not found:
        return None
    amount, unit = found.groups()
    if amount.isdigit():
        count = int(amount)
    else:
        count = _KOREAN_NUMBERS.get(amount) or _WORD_NUMBERS.get(amount, 1)
    factor = next(v for k, v in _UNITS.items() if unit.startswith(k))
    return count * factor


def _limit(text: str) -> dict[str, Any]:
    found = re.search(r"(?:last|latest|recent|최근)\s*(\d{1,2})\b", text)
    return {"limit": int(found.group(1))} if found else {}


def silence(text: str) -> dict[str, Any] | None:
    asks = _has(
        text,
        "silence",
        "mute",
        "snooze",
        "quiet",
        "꺼줘",
        "꺼 줘",
        "끄기",
        "꺼두",
        "음소거",
        "무음",
        "조용히",
        "끄고",
        "꺼주",
    ) or (_has(text, "turn off", "stop", "pause", "disable") and _has(text, "alert", "notif"))
    if not asks or _has(text, "unmute", "unsilence", "lift", "해제", "remove the silence"):
        return None
    if "silences" in text or _has(text, "list", "목록", "show", "which"):
        return None
    source = _named(text, _SOURCES)
    if source is None:
        return None
    return {"source": source, "durationMinutes": duration_minutes(text) or 60}


def unsilence(text: str) -> dict[str, Any] | None:
    found = _SILENCE_ID.search(text)
    if not found or not _has(
        text,
        "unmute",
        "unsilence",
        "expire",
        "lift",
        "remove",
        "end ",
        "cancel",
        "delete",
        "해제",
        "만료",
        "취소",
        "다시 켜",
        "삭제",
    ):
        return None
    return {"silenceId": found.group(0)}


def start_loadtest(text: str) -> dict[str, Any] | None:
    if not _LOADTEST.search(text):
        return None
    asks = _has(
        text,
        "run ",
        "start",
        "launch",
        "kick off",
        "again",
        "rerun",
        "re-run",
        "trigger",
        "execute",
        "fire",
        "실행",
        "돌려",
        "시작",
        "다시",
        "해줘",
        "해 줘",
    )
    reads = _has(
        text,
        "result",
        "runs",
        "history",
        "how did",
        "latest",
        "last",
        "결과",
        "기록",
        "어땠",
        "어떻게 됐",
        "목록",
        "show",
        "list",
    )
    if not asks or (reads and not _has(text, "again", "다시", "start", "시작", "실행")):
        return None
    arguments: dict[str, Any] = {"scenario": _named(text, _SCENARIOS) or "light"}
    seconds = _SECONDS.search(text)
    if seconds:
        arguments["durationSeconds"] = int(seconds.group(1))
    return arguments


def loadtest_runs(text: str) -> dict[str, Any] | None:
    if not _LOADTEST.search(text) or _has(text, *_ABOUT):
        return None
    arguments: dict[str, Any] = {}
    scenario = _named(text, _SCENARIOS)
    if scenario:
        arguments["scenario"] = scenario
    return {**arguments, **_limit(text)}


def silences(text: str) -> dict[str, Any] | None:
    if _has(text, "silences", "사일런스 목록", "음소거 목록", "음소거된") or (
        _has(text, "silence", "사일런스", "음소거")
        and _has(text, "list", "which", "show", "목록", "뭐")
    ):
        return {}
    return None


def alerts(text: str) -> dict[str, Any] | None:
    if not _has(text, "alert", "알림", "경보", "incident", "장애"):
        return None
    if _has(text, *_ABOUT):
        return None
    return _limit(text)


def deploys(text: str) -> dict[str, Any] | None:
    if not _has(text, "deploy", "release", "rollout", "배포", "릴리스", "릴리즈"):
        return None
    if _has(text, "how do i", "how to", "should i", "방법", "어떻게 해"):
        return None
    return _limit(text)


def my_agents(text: str) -> dict[str, Any] | None:
    if not re.search(r"\bagents?\b|에이전트", text) or _has(text, *_ABOUT, *_WRITES):
        return None
    if not _has(
        text,
        "my ",
        "list",
        "which",
        "show",
        "how many",
        "what",
        "내 ",
        "목록",
        "몇",
        "보여",
        "뭐",
    ):
        return None
    if _has(text, "paused", "일시정지", "멈춘", "중지된"):
        return {"status": "paused"}
    if _has(text, "active", "활성"):
        return {"status": "active"}
    return {}


def persona(text: str, original: str) -> dict[str, Any] | None:
    if not _has(text, "persona", "페르소나"):
        return None
    for pattern in _QUOTED:
        quoted = pattern.search(original)
        if quoted:
            return {"text": quoted.group(1)}
    _, colon, rest = original.partition(":")
    return {"text": rest.strip() if colon and rest.strip() else original.strip()}


def read(text: str) -> tuple[str, dict[str, Any]] | None:
    """The tool a request asks for and its arguments, or None (most text asks for none)."""
    lowered = " ".join(text.lower().split())
    for name, reader in (
        ("expire_silence", unsilence),
        ("create_silence", silence),
        ("start_loadtest", start_loadtest),
        ("active_silences", silences),
        ("loadtest_runs", loadtest_runs),
        ("active_alerts", alerts),
        ("recent_deploy_events", deploys),
        ("list_my_agents", my_agents),
    ):
        arguments = reader(lowered)
        if arguments is not None:
            return name, arguments
    arguments = persona(lowered, text)
    return ("route_to_persona", arguments) if arguments is not None else None


def reader_for(name: str) -> Callable[[str], dict[str, Any] | None]:
    """The arguments when the text asks for tool `name` (and for no tool read before it)."""

    def match(text: str) -> dict[str, Any] | None:
        found = read(text)
        return found[1] if found is not None and found[0] == name else None

    return match
