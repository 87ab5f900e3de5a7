"""Resonance analysis of one message: rhythm, tone and intent, rule-based, Korean and English.

Everything here is pure and deterministic (no I/O, no model call) so that routing stays
well under a millisecond. English cues match whole words (`word*` matches a prefix);
Korean cues match substrings, because particles attach to the word (데이터를, 데이터가).
The optional model classification (`persona_routing.analyse_with_model`) builds on this.

Cost: linear in the message's length. Each character is read a bounded number of times
(the regular expressions here have no nested or overlapping quantifiers, so none can
backtrack over what it has read), and a token contributes at most `PREFIX_LIMIT - 1`
prefixes of at most `PREFIX_LIMIT` characters to the prefix set, instead of one prefix
per character (which made a long run of letters or digits cost its length squared).
Measured on one core: at most about 2 us of CPU per character (10,000 characters in 5-16 ms,
whatever they are); `python -m bench.routing` measures a whole route.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, get_args

Tone = Literal[
    "calm",
    "urgent",
    "curious",
    "frustrated",
    "playful",
    "analytical",
    "anxious",
    "confused",
    "collaborative",
]
Pace = Literal["fast", "medium", "slow"]
Intent = Literal["inquiry", "request", "expressive", "statement"]
# The values the analyser emits, in order; the router must know every one of them.
TONES: tuple[str, ...] = get_args(Tone)
PACES: tuple[str, ...] = get_args(Pace)
INTENTS: tuple[str, ...] = get_args(Intent)
EMOTIONAL_TONES = frozenset({"frustrated", "anxious", "playful"})
RESTING_CALM = 0.6

_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_ASCII_WORD = re.compile(r"^[\x00-\x7f]+$")
_SENTENCE_END = re.compile(r"[.!?。…\n]+|(?<=[ㅠㅜㅋㅎ])\s+")
_PUNCTUATION = re.compile(r"[.,!?;:…~\-—()\"'\u201c\u201d\u2018\u2019]")


_TOKEN = re.compile(r"[a-z0-9]+(?:['/-][a-z0-9]+)*")
_SIMPLE_WORD = re.compile(r"^[a-z0-9]+(?:['/-][a-z0-9]+)*\*?$")
# The longest prefix a scan keeps per token; a `word*` cue longer than this (none of the
# lexicons has one over 13 characters) is matched against the tokens themselves instead.
PREFIX_LIMIT = 24


@dataclass(frozen=True)
class Scan:
    """A message prepared once for every cue matcher."""

    normalized: str
    tokens: frozenset[str]  # lower-case words; hyphenated and slashed words also in parts
    prefixes: frozenset[str]  # every prefix of 2 to PREFIX_LIMIT characters of every token
    chars: frozenset[str]  # the characters of the text


def scan_of(normalized: str) -> Scan:
    found = set(_TOKEN.findall(normalized))
    for token in [t for t in found if "-" in t or "/" in t]:
        found.update(part for part in re.split(r"[-/]", token) if part)
    prefixes = {
        token[:end] for token in found for end in range(2, min(len(token), PREFIX_LIMIT) + 1)
    }
    return Scan(normalized, frozenset(found), frozenset(prefixes), frozenset(normalized))


class CueMatcher:
    """Finds cues in a scanned message. Single English words and prefixes are set
    intersections and phrases run only when their first word is present, so a few hundred
    cues cost microseconds; Korean and other scripts are substring tests."""

    def __init__(self, cues: Iterable[str]) -> None:
        self.words: frozenset[str] = frozenset()
        self.stems: frozenset[str] = frozenset()  # `word*` cues, matched by scan.prefixes
        self.long_stems: tuple[str, ...] = ()  # `word*` cues too long for scan.prefixes
        self.substrings: dict[str, tuple[str, ...]] = {}  # by first character
        self.phrases: tuple[tuple[str, re.Pattern[str]], ...] = ()
        words: set[str] = set()
        stems: set[str] = set()
        substrings: list[str] = []
        phrases: list[tuple[str, re.Pattern[str]]] = []
        for cue in sorted({c.strip().lower() for c in cues if c.strip()}, key=len, reverse=True):
            if not _ASCII_WORD.match(cue):
                substrings.append(cue)
            elif _SIMPLE_WORD.match(cue):
                (stems if cue.endswith("*") else words).add(cue.rstrip("*"))
            else:
                core = re.escape(cue.rstrip("*")).replace(r"\ ", r"\s+")
                tail = "" if cue.endswith("*") or not cue[-1].isalnum() else r"(?![a-z0-9])"
                first = re.split(r"[^a-z0-9']", cue, maxsplit=1)[0]
                phrases.append((first, re.compile(r"(?<![a-z0-9])" + core + tail)))
        self.words = frozenset(words)
        self.stems = frozenset(s for s in stems if len(s) <= PREFIX_LIMIT)
        self.long_stems = tuple(sorted(s for s in stems if len(s) > PREFIX_LIMIT))
        self.phrases = tuple(phrases)
        for cue in substrings:
            self.substrings[cue[0]] = (*self.substrings.get(cue[0], ()), cue)
        self.initials = frozenset(self.substrings)

    def find(self, scan: Scan) -> list[str]:
        """The cues found; a phrase or substring counts once per occurrence."""
        hits = list(self.words & scan.tokens)
        hits.extend(stem + "*" for stem in self.stems & scan.prefixes)
        hits.extend(
            stem + "*" for stem in self.long_stems if any(t.startswith(stem) for t in scan.tokens)
        )
        for first, pattern in self.phrases:
            if not first or first in scan.tokens:
                hits.extend(m.group(0) for m in pattern.finditer(scan.normalized))
        for initial in self.initials & scan.chars:
            for cue in self.substrings[initial]:
                if cue in scan.normalized:
                    hits.extend([cue] * scan.normalized.count(cue))
        return hits


def compile_cues(cues: Iterable[str]) -> CueMatcher:
    """A matcher for a cue list: ASCII cues are whole words (`*` = prefix), others substrings."""
    return CueMatcher(cues)


def _lexicon(*words: str) -> CueMatcher:
    return compile_cues(w for chunk in words for w in chunk.split("|"))


# How each tone tends to show, in everyday English and Korean. Phrases are separated by `|`.
_TONE_CUES: dict[str, CueMatcher] = {
    "urgent": _lexicon(
        "urgent|asap|immediately|right now|right away|emergency|hurry|critical|deadline*|"
        "as soon as possible|by tomorrow|by today|by tonight|is down|went down|outage|fast|now!",
        "급해|급하|긴급|당장|빨리|서둘|마감|오늘까지|내일까지|내일 아침까지|지금 바로|"
        "시간이 없|장애",
    ),
    "frustrated": _lexicon(
        "ugh|argh|annoy*|frustrat*|hate|sick of|fed up|driving me|nothing works|keeps failing|"
        "tired|exhausted|ridiculous|stupid|damn|wtf|again|still not|give up|can't stand|crying|"
        "rejected|failed|failing|rough",
        "짜증|답답|화나|빡치|미치겠|지친|지친다|지쳤|포기|속상|서운|괴로|망했|거절|힘들",
    ),
    "anxious": _lexicon(
        "nervous|anxious|anxiety|worried|worry|worries|scared|afraid|fear|panic*|what if|stress*|"
        "overwhelm*|can't sleep|barely slept|shaking|terrified|insecure|impostor|embarrass*|"
        "second-guess*|too late",
        "불안|걱정|떨려|떨리|무서|두려|긴장|잠이 안|겁나|초조|스트레스|자신감|자존감|우울|부담|"
        "될까 봐|못할까|ㅠ|ㅜ",
    ),
    "playful": _lexicon(
        "lol|haha*|lmao|fun|funny|silly|pun|puns|punny|joke*|hear me out|weird|surprise me|"
        "dramatic|game|party|😄|😂|🤣|😆|😅|😊|🙂|✨|🎉|😍|🥳",
        "ㅋㅋ|ㅎㅎ|재밌|재미|웃기|귀여|장난|놀이|신나|게임",
    ),
    "analytical": _lexicon(
        "compare|comparison|trade-off*|tradeoff*|difference between|versus|vs|pros and cons|"
        "analy*|evaluate|measure*|metric*|statistic*|correlat*|ratio|rate|average|mean|median|"
        "percent*|significan*|data|benchmark*|criteria|root cause|structure*|architecture",
        "비교|분석|장단점|차이|지표|데이터|수치|통계|측정|비율|평균|원인|기준|구조|체계|검정",
    ),
    "curious": _lexicon(
        "curious|wonder*|how does|learn*|understand*|explain*|interested|tell me about|"
        "under the hood|walk me through|what happens",
        "궁금|알고 싶|이해|설명|원리|동작하",
    ),
    "confused": _lexicon(
        "confus*|lost|not sure|don't know|no idea|unclear|mixed up|don't understand|"
        "what now|what should i do|where do i start|which one|who decides|supposed to",
        "헷갈|모르겠|잘 모르|어떡하|뭐가 뭔지|막막|정리가 안|뭘 해야|어디서부터",
    ),
    "collaborative": _lexicon(
        "let's|lets|together|coordinate|align*|sync|with you|each other|we need|we should|"
        "work with|our team|collaborat*",
        "같이|함께|협업|공유|맞춰|해봐요|해볼까|짜볼까|분담|조율",
    ),
    "calm": _lexicon(
        "please|thanks|thank you|could you|would you|i'd like|when you have time|no rush",
        "주세요|부탁|감사|고맙|천천히|알려주",
    ),
}
_QUESTION_WORDS = _lexicon(
    "how|what|what's|why|when|which|who|where|is|are|do|does|did|should|can i|could i|"
    "would it|will|isn't|any ideas|ideas",
    "까요|나요|가요|는지|뭐|어떻게|왜|어떤|무엇|있을까|인가요|할까|하죠|일까|궁금",
)
_REQUEST_CUES = _lexicon(
    "please|can you|could you|would you|help me|give me|write|make|draft|create|put together|"
    "summarize|summarise|turn|tell me|show me|sketch|walk me through|list|pick|review|"
    "i need you|let's|suggest",
    "주세요|해줘|줘요|줄래|주실|부탁|해 주|짜주|만들어|정리해|추천해|알려줘|던져줘|도와",
)


@dataclass(frozen=True)
class Rhythm:
    avg_sentence_length: float  # words per sentence (a Korean 어절 counts as 1.5 words)
    punctuation_density: float  # punctuation marks per non-space character
    question_ratio: float  # share of sentences that end in "?"
    exclamation_ratio: float  # share of sentences that end in "!"
    pace: str


@dataclass(frozen=True)
class ToneReading:
    primary: str
    scores: dict[str, float]  # a distribution over TONES (sums to 1)
    resting: float  # the share of `scores` (all on calm) that no cue supports
    source: str = "rules"


@dataclass(frozen=True)
class Analysis:
    text: str
    language: str  # ko, en, mixed or none
    rhythm: Rhythm
    tone: ToneReading
    intent: str
    scan: Scan = field(repr=False)

    @property
    def resonance_key(self) -> str:
        return f"{self.tone.primary}-{self.rhythm.pace}-{self.intent}"


def normalize(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'").lower()


def language_of(text: str) -> str:
    hangul = len(_HANGUL.findall(text))
    latin = len(re.findall(r"[A-Za-z]{2,}", text))
    if hangul and latin >= 2:
        return "mixed"
    if hangul:
        return "ko"
    return "en" if latin else "none"


def rhythm_of(text: str) -> Rhythm:
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    ends = re.findall(r"[.!?。…\n]+", text)
    count = max(1, len(sentences))
    words = sum(1.5 if _HANGUL.search(token) else 1.0 for token in text.split())
    chars = len(re.sub(r"\s", "", text))
    questions = sum(1 for e in ends if "?" in e)
    exclamations = sum(1 for e in ends if "!" in e)
    avg = words / count
    exclamation_ratio = min(1.0, exclamations / count)
    if words <= 12 or avg < 7 or exclamation_ratio >= 0.5:
        pace = "fast"
    elif avg >= 18 or words >= 60:
        pace = "slow"
    else:
        pace = "medium"
    return Rhythm(
        avg_sentence_length=round(avg, 2),
        punctuation_density=round(len(_PUNCTUATION.findall(text)) / chars, 4) if chars else 0.0,
        question_ratio=round(min(1.0, questions / count), 4),
        exclamation_ratio=round(exclamation_ratio, 4),
        pace=pace,
    )


def _shouting(text: str) -> bool:
    """Mostly capitals (not one acronym such as JSON in an ordinary sentence)."""
    letters = [c for c in text if c.isascii() and c.isalpha()]
    return len(letters) >= 8 and sum(c.isupper() for c in letters) >= 0.6 * len(letters)


def _has(matcher: CueMatcher, text: str) -> bool:
    return bool(matcher.find(scan_of(text)))


def tone_of(text: str, scan: Scan, rhythm: Rhythm) -> ToneReading:
    raw = {tone: float(len(cues.find(scan))) for tone, cues in _TONE_CUES.items()}
    raw["calm"] += RESTING_CALM  # the resting tone: wins when nothing else speaks
    if "!!" in text or _shouting(text):
        raw["urgent" if raw["urgent"] else "frustrated" if raw["frustrated"] else "playful"] += 1
    if "??" in text or "?!" in text:
        raw["confused"] += 0.8
    if rhythm.question_ratio and raw["curious"] == 0:
        raw["curious"] += 0.3
    if re.search(r"\d", text) and raw["analytical"]:
        raw["analytical"] += 0.5
    total = sum(raw.values())
    scores = {tone: raw[tone] / total for tone in TONES}
    primary = max(TONES, key=lambda tone: (raw[tone], -TONES.index(tone)))
    return ToneReading(primary, scores, RESTING_CALM / total)


def intent_of(text: str, scan: Scan, tone: ToneReading) -> str:
    words = scan.normalized.split()
    head, tail = " ".join(words[:2]), scan.normalized.strip()[-8:]
    asks = bool(_REQUEST_CUES.find(scan))
    question = (
        "?" in text or _has(_QUESTION_WORDS, " ".join(words[:1])) or _has(_QUESTION_WORDS, tail)
    )
    if _has(_REQUEST_CUES, head) or (asks and not question):
        return "request"
    if question:
        return "inquiry"
    if tone.primary in EMOTIONAL_TONES or "!" in text:
        return "expressive"
    return "statement"


def analyse(text: str) -> Analysis:
    """Rhythm, tone and intent of `text` by the rules. Total: any string, empty included."""
    scan = scan_of(normalize(text))
    rhythm = rhythm_of(text)
    tone = tone_of(text, scan, rhythm)
    intent = intent_of(text, scan, tone)
    return Analysis(text, language_of(text), rhythm, tone, intent, scan)
