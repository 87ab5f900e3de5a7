"""Korean numbers written in words, as integers: Sino-Korean (일, 이, 삼 … 십, 백, 천, 만),
native Korean (한/하나, 두/둘, 세/셋, 네/넷, 다섯 … 열, 스물/스무 … 아흔), and digits
mixed with Sino units ("5천", "2만 5천", "1,000").

No maintained library reads Korean numerals, so this small parser does; English numbers
in words are read by `text2num` (`shared.tools.quantities`). A number is only read in
front of a counter or a unit (`NUMBER` is a pattern to put before one): "이" alone is
"this", "한" alone is "one" or "Korea", and "세" ends "주세요".
"""

from __future__ import annotations

SINO_DIGITS = {
    "영": 0,
    "공": 0,
    "일": 1,
    "이": 2,
    "삼": 3,
    "사": 4,
    "오": 5,
    "육": 6,
    "륙": 6,
    "칠": 7,
    "팔": 8,
    "구": 9,
}
SINO_UNITS = {"십": 10, "백": 100, "천": 1000}
MAN = 10_000
NATIVE_ONES = {
    "하나": 1,
    "한": 1,
    "둘": 2,
    "두": 2,
    "셋": 3,
    "세": 3,
    "넷": 4,
    "네": 4,
    "다섯": 5,
    "여섯": 6,
    "일곱": 7,
    "여덟": 8,
    "아홉": 9,
}
NATIVE_TENS = {
    "열": 10,
    "스물": 20,
    "스무": 20,
    "서른": 30,
    "마흔": 40,
    "쉰": 50,
    "예순": 60,
    "일흔": 70,
    "여든": 80,
    "아흔": 90,
}

_ONES = "|".join(sorted(NATIVE_ONES, key=len, reverse=True))
_TENS = "|".join(NATIVE_TENS)
_NATIVE = f"(?:(?:{_TENS})\\s?(?:{_ONES})|{_ONES}|{_TENS})"
_SINO_CHARS = "영공일이삼사오육륙칠팔구십백천만"
_DIGITS = r"\d[\d,]*(?:\.\d+)?"
_MORE = f"\\s?(?:{_DIGITS}(?:\\s?[십백천만])?|[{_SINO_CHARS}]+(?![가-힣]))"
_MIXED = f"{_DIGITS}(?:\\s?[십백천만](?:{_MORE})*)?"
# A number in digits, Sino-Korean words or native words; words are not glued to the
# syllable before them ("세" in "주세요" is no number). Put a counter or a unit after it.
NUMBER = f"(?:(?<![\\d.,]){_MIXED}|(?<![가-힣])(?:{_NATIVE}|[{_SINO_CHARS}]+))"


def native(text: str) -> int | None:
    """'다섯' 5, '열두' 12, '스물다섯' 25, '스무' 20; None for anything else."""
    word = text.replace(" ", "")
    for tens_word, tens in NATIVE_TENS.items():
        if word == tens_word:
            return tens
        if word.startswith(tens_word) and word[len(tens_word) :] in NATIVE_ONES:
            return tens + NATIVE_ONES[word[len(tens_word) :]]
    return NATIVE_ONES.get(word)


def sino(text: str) -> int | None:
    """'삼십' 30, '이백오십' 250, '천' 1000, '5천' 5000, '2만 5천' 25000, '1,000' 1000."""
    word = text.replace(" ", "")
    total = group = 0  # whole 만s so far; the part below 만
    digit: int | None = None
    position = 0
    while position < len(word):
        char = word[position]
        if char.isdigit():
            end = position
            while end < len(word) and (word[end].isdigit() or word[end] == ","):
                end += 1
            if digit is not None:
                return None
            digit, position = int(word[position:end].replace(",", "")), end
            continue
        if char in SINO_DIGITS:
            if digit is not None:
                return None  # two digits in a row ("삼일") are no number
            digit = SINO_DIGITS[char]
        elif char in SINO_UNITS:
            group += (1 if digit is None else digit) * SINO_UNITS[char]
            digit = None
        elif char == "만":
            total += (group + (digit or 0) or 1) * MAN
            group, digit = 0, None
        else:
            return None
        position += 1
    return total + group + (digit or 0)


def number(text: str) -> float | None:
    """A number written any of these ways ("1.5" too), or None."""
    word = text.strip()
    if not word:
        return None
    try:
        return float(word.replace(",", ""))
    except ValueError:
        pass
    found = native(word)
    return float(found) if found is not None else _float(sino(word))


def _float(value: int | None) -> float | None:
    return None if value is None else float(value)
