"""A deterministic reading of English and Korean requests: which tool, with which arguments,
or why none.

`understand` answers a `Reading`: a tool and its arguments, or no tool and the reason. The
offline ops planner and the offline model (through `reader_for`, one reader per tool)
share it. It reads in this order, and the first that applies decides:

1. a question about the platform rather than a request to it ("how do I mute alerts?");
2. the platform's own functions (`_operating`): restart, scale or roll back one function,
   read their status or logs, or what changed; a function is named by its manifest name
   or a word for it ("chat", "채팅", "the agents function", "에이전트 함수"), and a change
   that names none, or two, is no tool with the reason;
3. what no tool does (deploy, change agents, send a message, change a threshold,
   acknowledge an alert, stop a load test, end every silence, extend or bring back a
   silence): no tool, with the reason;
4. a silence named by id (end it, or nothing), a request to silence or unsilence, a list
   of silences; a load test to start, to stop, or runs to read; alerts, deploys, agents,
   personas;
5. negation ("don't", "never", "no need to", "말고", "하지 마", "안 해도 돼") turns any
   of those into no tool: a command that says not to do something never does another.

A changing tool is planned exactly or not at all: a missing or ambiguous argument (no
source, two sources, no scenario, no silence id, no function or two, a number of
instances that is not said to be the minimum or the maximum, a duration too long or too
vague, a value outside the tool's bounds) is no tool, with the reason. Quantities are parsed by
`shared.tools.quantities`, not matched.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.tools import quantities
from shared.tools.numerals import NUMBER
from shared.tools.patterns import LazyPattern, lazy
from shared.tools.quantities import Found

# -- what a reading is -----------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """A tool and its arguments, or (`tool` None) why the command gets none."""

    tool: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


NO_TOOL = "no tool fits the command"
ABOUT = "a question about the platform, not a request to it"
NEGATED = "negated: the command says not to do it"
STATEMENT = "a statement about what happened, not a request"
TWO_ACTIONS = "the command asks for more than one action ({}); a command runs one tool"

# Requests no tool does.
CANNOT_STOP_LOADTEST = "no tool can stop a running load test"
LATER = (
    "no tool acts later or on a condition; a changing plan runs when it is confirmed: "
    "say what to do now"
)
CANNOT_END_ALL_SILENCES = (
    "no tool ends every silence at once; expire_silence ends one silence, by its id (sil_…)"
)
CANNOT_EXTEND_SILENCE = "no tool extends a silence; create a new silence for the source instead"
CANNOT_RESTORE_SILENCE = "no tool brings back an expired silence; create a new silence instead"
FUNCTION_EXAMPLES = "chat, agents, webhook, persona-router, guest-session, …"
NO_FUNCTION = "{} needs the platform function to {} ({}); the command names none"
CANNOT_ROLL_BACK = NO_FUNCTION.format("rollback_function", "roll back", FUNCTION_EXAMPLES)
CANNOT_DEPLOY = "no tool deploys; recent_deploy_events only reads deploys"
CANNOT_RESTART = NO_FUNCTION.format("restart_function", "restart", FUNCTION_EXAMPLES)
CANNOT_SCALE = NO_FUNCTION.format("scale_function", "scale", FUNCTION_EXAMPLES)
TWO_FUNCTIONS = "{} acts on one function; the command names {}"
ALL_FUNCTIONS = "{} acts on one function; the command asks for all of them"
NO_INSTANCES = (
    "scale_function needs a number of instances, said to be the minimum or the maximum "
    "('chat min instances 2', '채팅 최대 인스턴스 10')"
)
WHICH_INSTANCES = (
    "the command gives {} instances but not whether that is the minimum or the maximum; "
    "say 'min' or 'max' ('최소', '최대')"
)
CANNOT_CHANGE_AGENTS = (
    "no tool creates, pauses, resumes, renames or deletes agents; list_my_agents only reads them"
)
CANNOT_MESSAGE = "no tool sends a message (Slack, e-mail or otherwise)"
CANNOT_THRESHOLD = "no tool changes an alert's threshold or rule"
CANNOT_ACKNOWLEDGE = "no tool acknowledges, resolves or deletes an alert"
CANNOT_CHANGE_RECORDS = "no tool deletes or edits deploy events or load-test runs; they are read"

# Arguments a changing tool needs.
SOURCES_TEXT = "chat, loadtest, deploy, monitoring or dead-letter"
NO_SOURCE = f"create_silence needs the alert source to silence ({SOURCES_TEXT}); none is named"
ALL_SOURCES = (
    f"a silence covers one alert source ({SOURCES_TEXT}); the command asks for all of them"
)
TWO_SOURCES = "a silence covers one alert source; the command names {}"
NO_SCENARIO = "start_loadtest needs a scenario (light, medium, heavy or spike); none is named"
TWO_SCENARIOS = "start_loadtest runs one scenario; the command names {}"
NO_SILENCE_ID = (
    "expire_silence needs the silence's id (sil_ and 8-64 hex characters); none is given"
)
TWO_SILENCE_IDS = "expire_silence ends one silence; the command names {}"
UNCLEAR_SILENCE = (
    "the command names silence {} but not what to do with it; expire_silence ends a silence"
)
VAGUE_DURATION = "the duration is not a number ('{}'); say how long, e.g. '2 hours'"
TWO_DURATIONS = "the command gives more than one duration ({})"
TWO_VALUES = "the command gives more than one {} ({})"
SILENCE_BOUNDS = "a silence lasts 1 minute to 7 days; the command asks for {}"
SILENCE_WHOLE_MINUTES = "a silence lasts whole minutes; the command asks for {}"
LOADTEST_BOUNDS = "a load test runs at most 600 seconds; the command asks for {}"
SEVERAL_RUNS = "start_loadtest runs one load test; the command asks for several"
LEFTOVER = "the command gives a number ({}) that no argument of {} takes"
USERS_BOUNDS = "a load test runs 1 to 1000 users; the command asks for {}"
REQUESTS_BOUNDS = "a load test's request cap is 1 to 100000; the command asks for {}"

CHANGING = (
    "expire_silence",
    "create_silence",
    "start_loadtest",
    "restart_function",
    "scale_function",
    "rollback_function",
)
LIMITS = {  # a read's `limit`: its maximum (the input model's bound)
    "function_logs": 200,
    "recent_deploy_events": 50,
    "active_alerts": 50,
    "active_silences": 50,
    "loadtest_runs": 20,
    "list_my_agents": 50,
}


class Refused(Exception):
    """No tool, for the reason given."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- normalised text -------------------------------------------------------------------

_CONTRACTIONS = (
    (lazy(r"\b(do|does|did|is|are|was|were|should|must|need|would|could)n'?t\b"), r"\1 not"),
    (lazy(r"\bwon'?t\b"), "will not"),
    (lazy(r"\bcan'?t\b|\bcannot\b"), "can not"),
    (lazy(r"\blet's\b"), "let us"),
)
# Double (straight, curly U+201C/D) and corner quotes first; single quotes only around a
# phrase (an apostrophe inside "I'm" is not a quote).
_QUOTED = (
    lazy('["\u201c\u300c](.+?)["\u201d\u300d]'),
    lazy("(?:^|\\s)['\u2018](.+?)['\u2019](?=\\s|$|[.,?!:])"),
)


_TOOL_NAMES = {
    "platform_status": "platform status",
    "function_logs": "function logs",
    "restart_function": "restart function",
    "scale_function": "scale function",
    "rollback_function": "rollback function",
    "what_changed": "what changed",
    "create_silence": "create silence",
    "expire_silence": "expire silence",
    "start_loadtest": "start load test",
    "active_alerts": "active alerts",
    "active_silences": "active silences",
    "recent_deploy_events": "recent deploy events",
    "loadtest_runs": "load test runs",
    "list_my_agents": "list my agents",
    "route_to_persona": "route to persona",
}
_TOOL_NAME = lazy("|".join(_TOOL_NAMES))


def normalise(text: str) -> str:
    """Lowercase, NFKC, straight apostrophes, single spaces, contractions and tool names
    spelt out ("start_loadtest" -> "start load test")."""
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    text = " ".join(text.split())
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return _TOOL_NAME.sub(lambda m: _TOOL_NAMES[m.group(0)], text)


def _unquoted(original: str) -> str:
    """The command without what it quotes (quoted text is a payload, not the command)."""
    for pattern in _QUOTED:
        original = pattern.sub(" ", original)
    return original


def _re(*patterns: str) -> LazyPattern:
    return lazy("|".join(f"(?:{p})" for p in patterns))


# -- cues ------------------------------------------------------------------------------

_SILENCE_ID = lazy(r"(?<![0-9a-z_])sil_[0-9a-f]{8,64}(?![0-9a-z_])")
_SCENARIOS = {
    "light": _re(r"\b(?:light|lite|gentle|low)\b", "라이트|가벼운|가볍게|경량|약한|약하게|저부하"),
    "medium": _re(r"\b(?:medium|moderate|mid|midsize)\b", "미디엄|중간|보통|중부하|중간\\s?정도"),
    "heavy": _re(r"\b(?:heavy|intense|hard|big)\b", "헤비|무거운|무겁게|고부하|강한|강하게|세게"),
    "spike": _re(r"\b(?:spike|spiky|burst|bursty)\b", "스파이크|급증|버스트|순간\\s?폭주"),
}
_SOURCES = {
    "chat": _re(r"\bchat\b|\bchats\b|\bchatbot", "채팅|대화|챗"),
    "loadtest": _re(
        r"\bload[ -]?tests?\b|\bloadtests?\b|\bload[ -]?testing\b|\bstress[ -]?tests?\b",
        "부하\\s?테스트|로드\\s?테스트|스트레스\\s?테스트|성능\\s?테스트",
    ),
    "deploy": _re(r"\bdeploy|\bdeployment|\brelease|\brollout", "배포|릴리스|릴리즈"),
    "monitoring": _re(r"\bmonitoring\b|\bmonitor\b|\bcloud monitoring\b", "모니터링"),
    "dead-letter": _re(r"\bdead[ -]?letters?\b|\bdlq\b", "데드\\s?레터|데드레터|dlq"),
}
_LOADTEST = _re(
    r"\bload[ -]?tests?\b|\bloadtests?\b|\bload[ -]?testing\b|\bstress[ -]?tests?\b",
    r"\bperf(?:ormance)? tests?\b|\bscenarios?\b",
    r"\b(?:run|start|launch|kick off|fire off|trigger|rerun|re-run) (?:the |a |an )?"
    r"(?:light|medium|heavy|spike)\b(?! (?:alerts?|deploy))",
    r"\b(?:light|medium|heavy|spike) (?:runs?|tests?|scenario)\b",
    "부하\\s?테스트|로드\\s?테스트|스트레스\\s?테스트|성능\\s?테스트|부하\\s?시험|시나리오",
)
_ALERT = _re(
    r"\balert|\bnotif|\bpag(?:e|es|ing|er)\b|\balarm|\bincident|\bwarnings?\b|\bpings?\b",
    r"\bfiring\b|\bon fire\b|\bgoing off\b",
    "알림|알람|경보|경고|장애|인시던트|노티",
)
_SILENCE_NOUN = _re(r"\bsilences?\b|\bmutes?\b|\bsnoozes?\b", "사일런스|음소거|뮤트|무음|묵음")
_DEPLOY = _re(
    r"\bdeploy|\brelease|\brollout|\bshipped\b|\bwent (?:out|live)\b|\bbuilds?\b",
    r"\bwhat(?:'s| is| got)? (?:live|in prod)",
    "배포|릴리스|릴리즈|롤아웃",
)
_AGENT = _re(r"\bagents?\b|\bbots?\b", "에이전트|봇")
_PERSONA = _re(r"\bpersonas?\b", "페르소나", r"\bwho should (?:answer|reply|respond)\b")
_ALL = _re(r"\ball\b|\bevery(?:thing|one)?\b|\bany\b", "모든|모두|전부|전체|다\\s")

# What the command asks: read, start, stop ...
_READ = _re(
    r"\b(?:show|list|display|view|see|check|get|give|fetch|pull up|what|what's|which|any|"
    r"are there|is there|how many|how did|how was|how were|how's|did|tell me|"
    r"status|current|currently|active|firing|open|recent|recently|latest|last|newest|"
    r"history|results?|report|summary|summari[sz]e|overview|anything|top|right now)\b",
    "보여|알려|뭐|뭔|무엇|있어|있나|있니|있는지|있습니까|있을까|목록|리스트|현황|확인|조회|"
    "어땠|어떻게 됐|어떤|몇|최근|지금|현재|이력|내역|기록|결과|상태|요약|정리|떠\\s?있|"
    "울리고|발생|했어|했나|됐어|됐나|나갔|줘봐|좀\\s?봐",
)
_ABOUT = _re(
    r"\b(?:what|what's) (?:is|are|does) (?:a|an|the (?:difference|point|purpose|meaning))\b",
    r"\bwhat's an?\b|\bwhat does\b|\bwhat do (?:silences|alerts|load tests) do\b",
    r"\bhow (?:do|does|can|should|would|could) (?:i|we|you|one|it|they|alerts?|silences?|"
    r"load ?tests?|deploys?|deployments?|personas?|agents?)\b",
    r"\bhow to\b|\bexplain\b|\bwhy (?:do|does|is|are|did|would)\b|\bshould (?:i|we)\b",
    r"\bis it (?:safe|ok|okay|possible|a good idea|wise)\b|\bdefin(?:e|ition)\b",
    r"\bmeaning of\b|\bdifference between\b|\bin general\b|\bbest practices?\b",
    r"\bin theory\b|\btheoretically\b|\bhypothetically\b|\bgood (?:name|idea)\b",
    "이론상|이론적으로|가정하면",
    r"\b(?:haiku|poem|joke|song|story|essay|limerick|translate|translation)\b",
    r"\bwrite (?:a|an|me)\b|\bteach me\b|\bwhat (?:happens|would happen|will happen)\b",
    "뭐야|무엇인가|무엇인지|란\\s?무엇|이란\\??$|란\\?|뭔가요|방법|어떻게\\s?(?:하|만들|설정|해야|쓰|사용)",
    "주의할|주의\\s?사항|조언|팁\\s|설명해|설명 좀|왜\\s|차이|의미|뜻이|뜻은|농담|번역",
    "시를\\s?(?:써|지어)|시\\s?한\\s?편",
)
# "I ran a load test last week": a report, unless it also asks for something.
_STATEMENT = lazy(
    r"^(?:i|we|someone|they) (?:just )?(?:ran|started|did|launched|muted|silenced|snoozed|"
    r"deployed|restarted|triggered|had|saw|got|expired|lifted|were|was)\b"
    r"(?!.*(?:\?|\b(?:show|list|tell|give|check|can you|could you|please)\b))"
)
_ASK_START = _re(
    r"(?:^|\b(?:please|pls|can you|could you|would you|will you|go|and|to|now|then|just|"
    r"us|me|want)\s+|[,;]\s*)(?:re-?)?run\b",
    r"\b(?:re-?)?run (?:a|an|the|another|one|some|it|that|this|1|light|medium|heavy|spike)\b",
    r"\b(?:start|launch|kick(?:ing)? off|fire(?: off| up)?|trigger|execute|begin|initiate|"
    r"spin up|rerun|re-run|repeat|redo|do another|perform|restart)\b",
    r"\bagain\b|\bonce more\b|\bone more\b",
    r"\bload[ -]?test (?:the|it|our|prod|production|staging|chat|the api)\b",
    "돌려|돌리|실행|시작|진행|걸어|한\\s?번\\s?더|다시|수행",
    "해\\s?줘|해 주세요|해주세요|하자|해\\s?봐",
)
_ASK_STOP = _re(
    r"\b(?:stop|cancel|abort|kill|halt|terminate|interrupt|end|pause|shut (?:down|off)|"
    r"call off)\b",
    "중지|중단|멈춰|멈추|취소|그만|끝내|종료|정지|꺼\\s?(?:줘|주|라|$)|끄고|끄자|끄기",
)
_STOP_IS_A_CAP = _re(
    r"\b(?:stop|end|halt|cap|finish)(?:ping)? (?:after|at|once|when|by)\b",
    "(?:후|뒤|에서|되면|넘으면|채우면)\\s?(?:중지|멈춰|멈추|중단|종료|끝내|정지)",
)
# A change asked for later, or on a condition: no tool waits.
_LATER = _re(
    r"\b(?:schedule|scheduled|tonight|tomorrow|every (?:day|night|hour|week|morning)|daily|"
    r"hourly|weekly|nightly|later today|later on|at \d{1,2}:\d\d|at \d{1,2} ?(?:am|pm)|at noon|"
    r"at midnight|in (?:\d+|an?|one|two|a few|half an?) (?:minutes?|mins?|hours?|hrs?))\b",
    r"\b(?:if|unless|whenever|in case)\b(?! (?:possible|you can|you could|you would|you do not "
    r"mind|that is (?:ok|okay|fine)|ok|okay|needed|necessary)\b)",
    r"\b(?:after|when|once) (?:the |it |they |we |this |that |our )?(?:[a-z-]+ )?(?:finishes|"
    r"finish|is done|are done|ends|fails|fires|fire|starts|completes|goes out|lands)\b",
    "예약|내일|매일|매주|매시간|오늘\\s?밤|이따가|나중에|\\d+\\s?시에|(?:분|시간)\\s?(?:후|뒤)(?:에|부터)?",
    "(?:끝나|실패하|뜨|울리|되|나가|시작되|완료되)면\\s|(?:끝나|마치)고\\s?나서",
)
_SILENCE_VERB = _re(
    r"\b(?:mute|muting|snooze|snoozing|hush|shush|quiet(?:en)?|suppress(?:ing)?|silencing)\b",
    r"(?:^|\b(?:please|pls|can you|could you|would you|will you|go|and|to|now|then|just|"
    r"let us|we need to|i need to|i want to|need to|want to)\s+)silence\b",
    r"\bsilence (?:the|all|every|chat|deploy|loadtest|load|monitoring|dead|dlq|alerts?|"
    r"notifications?|pages?|paging|it|them|those|these|that|this)\b",
    r"\bput (?:[a-z-]+ ){0,3}on (?:mute|silent|snooze|hold)\b|\bgo quiet\b|\bkeep .* quiet\b",
    r"\bno more (?:[a-z-]+ ){0,2}(?:alerts|notifications|pages|pings|alarms)\b",
    r"\b(?:do not|never) (?:notify|alert|page|ping|bother|send|wake|spam)\b",
    r"\bstop (?:notifying|alerting|paging|pinging|sending|bothering|spamming|waking)\b",
    r"\b(?:do not|no longer) want (?:any |more |the |to (?:get|see|receive) )?(?:[a-z-]+ )"
    r"{0,2}(?:alerts|notifications|pages|pings)\b",
    r"\b(?:stop|pause|disable|turn off|switch off|shut off|shut up|hold|block|kill|ignore|"
    r"quiet down|cut|cut off|halt|suspend|squelch|turn down)\b(?=.*(?:\balert|\bnotif|"
    r"\bpag(?:e|es|ing|er)\b|\balarm|\bpings?\b))",
    r"\b(?:create|add|set up|setup|make|put (?:up|in|on)|open|apply|place|start|new|"
    r"schedule)\b (?:[a-z0-9-]+ ){0,4}(?:silence|mute|snooze)\b",
    r"\b(?:minutes?|mins?|hours?|hrs?|days?|weeks?)(?:[- ]long)?[- ](?:silence|mute|snooze)\b",
    "사일런스\\S*\\s?(?:\\S+\\s)?(?:만들|생성|추가|설정|걸|적용|부탁)|(?:만들|생성|추가|설정|걸어)\\S*\\s?사일런스",
    "(?:분|시간|일|주일|주)\\s?(?:동안|간)?\\s?사일런스\\s?(?:해|줘|부탁|[.!]|$)",
    "꺼\\s?(?:줘|주|둬|두|놔|놓|라|버려|봐|요|$)|끄(?:기|고|자|세요|십시오|면|어|도록|게)(?!\\s?말)",
    "음소거(?!\\s?(?:된|중|돼|되어|되|상태|목록|리스트|현황|해제|풀|끝|취소|삭제))",
    "뮤트(?!\\s?(?:된|중|목록|해제|풀))|무음(?:으로|\\s?처리|\\s?해)|묵음|조용히|잠재워|사일런스\\s?(?:걸|해|설정|만들|추가|생성|켜)",
    "(?:알림|알람|경보|노티)\\s?(?:좀\\s?)?(?:중지|중단|정지|차단|끊|멈춰|막아|그만|꺼)",
    "(?:안|못)\\s?(?:오게|울리게|뜨게|보내게)|(?:오|울리|뜨|보내|알리)지\\s?(?:않게|말|마)",
)
_SILENCE_END = _re(
    r"\b(?:unmute|un-mute|unsilence|un-silence|unsnooze|un-snooze|expire|lift|remove|delete|"
    r"cancel|end|drop|revoke|clear|undo|kill|stop|terminate|purge|wipe|release|deactivate|"
    r"disable|get rid of|take (?:off|down)|turn off|switch off|close)\b",
    r"\b(?:turn|switch) (?:[a-z-]+ ){0,3}(?:back )?on\b|\bre-?enable\b|\bresume\b|"
    r"\bbring (?:[a-z-]+ ){0,3}back\b|\blet (?:[a-z-]+ ){0,3}through\b|\bunpause\b",
    "해제|풀어|풀기|풀자|풀어줘|만료|취소|삭제|지워|없애|끝내|종료|멈춰|중지|다시\\s?켜|켜\\s?줘|"
    "재개|살려|되돌려|원래대로|꺼\\s?(?:줘|주|라)",
    r"\b(?:go(?:es)? away|not needed|no longer needed|done with|finished with|can go|be gone)\b",
)
_SILENCE_EXTEND = _re(
    r"\b(?:extend|extending|prolong|lengthen|renew|push (?:back|out)|keep (?:[a-z-]+ ){0,3}"
    r"(?:muted|silenced|quiet|snoozed)|(?<!no )longer|another (?:\d|week|day|hour|minute|half)|an? "
    r"(?:extra|additional)|last (?:until|till|through)|(?:\d+|1) "
    r"more (?:weeks?|days?|hours?|minutes?|mins?)|more time)\b",
    "연장|늘려|늘리|더\\s?길게|더\\s?오래|추가로|더\\s?(?:\\d+|한|두|세|삼십)",
)
_SILENCE_RESTORE = _re(
    r"\b(?:un-?expire|reactivate|re-activate|restore|reinstate|revive|re-?apply|reopen|"
    r"re-?silence|re-?mute|mute (?:[a-z-]+ ){0,3}again|silence (?:[a-z-]+ ){0,3}again)\b",
    "다시\\s?활성화|재활성화|복구|되살려|복원|다시\\s?(?:음소거|뮤트|걸어|적용)",
)
_SILENCE_LIST = _re(
    r"\bsilences\b|\bsilenced\b|\bmuted\b|\bsnoozed\b|\bsilence list\b|\blist of silences\b",
    r"\b(?:any|active|current|existing|open|which|what|the|a) silences?\b(?! (?:the|all|chat|"
    r"deploy|load|monitoring|dead|alerts?|notifications?|for \d))",
    "사일런스\\s?(?:목록|리스트|현황|뭐|있|보여|확인|조회|알려)|음소거\\s?(?:된|중|돼|되어|상태|목록|현황)|"
    "뮤트\\s?(?:된|중|목록)|꺼\\s?(?:진|둔|놓은|져)|무음\\s?(?:인|된|처리된|상태)|silence\\s?목록",
)


# -- the platform's own functions ---------------------------------------------------------

# Words for each function of the manifest (infra/functions.yaml; a test checks that every
# entry is here). Its own name (hyphens or spaces) always counts; the functions whose
# names are also other things (your agents, alerts, load tests, ops commands) count with
# "function", "service", "함수" or "서비스" after them. Longer names are read first, and
# what one name matched is not read again ("chat-continue" is not also "chat").
_FUNCTION_WORD = r"(?:\s?(?:functions?|services?|fn|api|endpoint)\b|\s?(?:함수|서비스|펑션|API))"
_FUNCTIONS: tuple[tuple[str, str], ...] = (
    ("alerts-dead-letters-incidents", r"alerts[- ]dead[- ]letters[- ]incidents"),
    ("alerts-dead-letters-deploys", r"alerts[- ]dead[- ]letters[- ]deploys"),
    ("alerts-dead-letters-chat", r"alerts[- ]dead[- ]letters[- ]chat"),
    ("alerts-dead-letters-loadtests", r"alerts[- ]dead[- ]letters[- ]loadtests"),
    ("alerts-dead-letters-agents", r"alerts[- ]dead[- ]letters[- ]agents"),
    ("alerts-dead-letters-continuations", r"alerts[- ]dead[- ]letters[- ]continuations"),
    ("alerts-chat-failures", r"alerts[- ]chat[- ]failures"),
    ("alerts-incidents", r"alerts[- ]incidents"),
    ("alerts-deploys", r"alerts[- ]deploys"),
    ("alerts-loadtests", r"alerts[- ]loadtests"),
    ("chat-continue", r"chat[- ]continue|chat continuations?"),
    ("agents-stats", r"agents?[- ]stats|agent statistics|에이전트\s?통계"),
    ("agent-cleanup", r"agents?[- ]cleanup|cleanup" + _FUNCTION_WORD + r"|에이전트\s?정리"),
    ("outbox-relay", r"outbox[- ]relay|outbox" + _FUNCTION_WORD + r"|아웃박스"),
    (
        "persona-router",
        r"persona[- ]router|persona[- ]routing|(?:the )?router|페르소나\s?라우터|라우터",
    ),
    (
        "guest-session",
        r"guest[- ]sessions?|sessions?" + _FUNCTION_WORD + r"|게스트\s?세션|세션\s?(?:함수|서비스)",
    ),
    ("console", r"(?:web )?console|콘솔"),
    ("webhook", r"webhooks?|github webhook|웹\s?훅"),
    ("mcp", r"mcp(?: server)?"),
    (
        "chat",
        r"chat(?! alerts?| notifications?| pages?| silences?)(?:bot)?|채팅(?!\s?알림|\s?알람)|챗",
    ),
    ("agents", r"agents?" + _FUNCTION_WORD + r"|에이전트\s?(?:함수|서비스|API)"),
    ("alerts", r"alerts?" + _FUNCTION_WORD + r"|(?:알림|알람)\s?(?:함수|서비스)"),
    ("loadtest", r"load[- ]?tests?" + _FUNCTION_WORD + r"|부하\s?테스트\s?(?:함수|서비스)"),
    (
        "ops",
        r"ops" + _FUNCTION_WORD + r"|ops commands? (?:function|service)|운영\s?(?:함수|서비스)",
    ),
    ("sweep", r"sweep(?:er)?" + _FUNCTION_WORD + r"|sweeper|스윕"),
)
# Bounded by what is not an English letter, digit or hyphen: a Korean particle may follow
# ("웹훅에서", "채팅이").
_FUNCTION_PATTERNS = tuple(
    (name, lazy(rf"(?<![a-z0-9_-])(?:{words})(?![a-z0-9_-])")) for name, words in _FUNCTIONS
)
# What scaling names that other readers take for something else: only a function scales.
_SCALED_ONLY = (
    ("agents", lazy(r"(?<!my )\bagents\b")),
    ("alerts", lazy(r"\balerts\b")),
)
FUNCTION_NAMES = tuple(name for name, _ in _FUNCTIONS)
_EVERY_FUNCTION = _re(
    r"\b(?:all|every|each)\s+(?:the\s+|of the\s+)?(?:functions?|services?)\b|\beverything\b|"
    r"\bthe (?:whole )?platform\b|\bthe functions\b|\bthe services\b|\bplatform\b",
    "모든\\s?(?:함수|서비스)|전체\\s?(?:함수|서비스)|함수\\s?(?:전부|전체|다\\b|들)|서비스\\s?(?:전부|전체|들)|플랫폼",
)
_RESTART = _re(
    r"\b(?:restart|reboot|bounce|recycle|power[- ]cycle|respawn|re-?start)\b",
    r"\bfresh start\b|\bstart (?:it|them|[a-z-]+) (?:up )?(?:again|over)\b|\bstart over\b",
    "재시작|재부팅|리부트|리스타트|다시\\s?띄워|다시\\s?시작|껐다\\s?켜|재기동",
)
_ROLL_BACK = _re(
    r"\broll ?back\b(?! (?:events?|history|status|log))|\brevert (?:the|to|it|this|that|"
    r"last|deploy|release|prod|production|v\d|[a-z-]+ to)",
    r"\brevert (?:[a-z']+ )?(?:release|deploy|deployment|rollout|commit|change|version)",
    r"\bundo (?:[a-z']+ ){0,3}(?:deploy|deployment|release|rollout)s?\b",
    r"\broll (?:it|this|that|them|everything|back everything|[a-z-]+) back\b",
    r"\b(?:go|move|switch|send) (?:[a-z-]+ ){0,3}back to (?:the )?(?:previous|last|old|prior)",
    r"\bprevious (?:revision|version|release)\b",
    "롤백(?!\\s?(?:이력|내역|기록|됐|했|된|한|이\\s?있|있었|보여|언제|여부))|되돌려|되돌리|이전\\s?(?:버전|리비전)으로",
)
_SCALE = _re(
    r"\bscal(?:e|ing)\b|\bautoscal",
    r"\b(?:min(?:imum)?|max(?:imum)?) (?:instances?|replicas?|count)\b",
    r"\binstances?\b|\breplicas?\b|\bkeep \S+ (?:instances? )?warm\b",
    "스케일|오토\\s?스케일|인스턴스|레플리카|증설|감축|항상\\s?(?:떠|켜|살아)|최소\\s?\\d+\\s?(?:개|대)|최대\\s?\\d+\\s?(?:개|대)",
)
# "chat min 1 max 4": instances, when a function is named ("silences, max 5" is a count).
_BARE_MIN_MAX = lazy(r"\b(?:min|max)(?:imum)?\s*(?:=|:)?\s*\d+")
_SCALE_ASK = _re(
    r"\bscal(?:e|ing)\b|\b(?:set|raise|lower|increase|decrease|bump|reduce|change|adjust|"
    r"limit|cap|keep|allow|give|add|more|fewer|make|put|drop|up|down|double|halve|needs?|"
    r"wants?|requires?|should have)\b",
    r"\b(?:min(?:imum)?|max(?:imum)?|at least|at most|up to|no more than)\b",
    "늘려|줄여|늘리|줄이|설정|바꿔|변경|조정|증설|감축|올려|내려|최소|최대|맞춰|(?:으)?로\\s?(?:해|바꿔|설정|맞춰|올려|내려|줘|$)",
)
_STATUS_QUESTION = _re(
    r"\bhow many\b|\bwhat(?:'s| is| are)\b|\bwhich\b|\?$|\bcurrent(?:ly)?\b|\bnow\b",
    "몇|얼마|어때|뭐|현재|지금",
)
_STATUS = _re(
    r"\bhow(?:'s| is| are| was| were| does| do| did)\b|\bstatus\b|\bhealth(?:y)?\b|\bdoing\b|"
    r"\b(?:is|are) (?:[a-z-]+ ){0,3}(?:up|down|ok|okay|fine|alive|running|healthy)\b|"
    r"\bmetrics?\b|\blatency\b|\bp95\b|\b5xx\b|\berror rates?\b|\bcold starts?\b|"
    r"\brequests?\b|\btraffic\b|\brevisions?\b|\bserving\b|\binstances?\b|"
    r"\bperform(?:ance|ing)\b|\blook(?:s|ing)?\b|\bwrong\b|\bbroken\b|\bslow\b|\bunhealthy\b|"
    r"\bfailing\b|\boverview\b|\bdashboard\b|\bcheck\b|\bhealth ?check\b|\bhow many\b|"
    r"\b(?:list|show) (?:the |all |all the |every )?(?:functions|services)\b",
    "몇|함수\\s?목록|서비스\\s?목록|상태|어때|어떤지|어떻|괜찮|살아\\s?있|헬스|지연|레이턴시|응답\\s?시간|에러율|오류율|요청\\s?수|"
    "트래픽|콜드\\s?스타트|리비전|인스턴스|성능|현황|잘\\s?돌아|돌아가|느려|느린|문제|이상\\s?(?:있|없)|점검",
)
_LOGS = _re(
    r"\blogs?\b|\blog (?:lines?|entries)\b|\blogging\b|\bstack ?traces?\b|\btracebacks?\b|"
    r"\bexceptions?\b|\bstderr\b|\bstdout\b|\boutput\b",
    "로그|스택\\s?트레이스|트레이스백|예외",
)
_ERRORS = _re(r"\berrors?\b|\bfailures?\b|\bcrash(?:es|ed)?\b", "에러|오류|실패|크래시")
_ERRORS_COUNTED = _re(
    r"\bhow many\b|\brates?\b|\b5xx\b|\bcount\b|\bnumber of\b|\bpercent", "몇|율|비율|개수|건수"
)
_SEVERITY_WORDS = (
    ("DEBUG", _re(r"\bdebug\b", "디버그")),
    ("INFO", _re(r"\binfo\b", "인포")),
    ("WARNING", _re(r"\bwarn(?:ing)?s?\b", "경고|워닝")),
    (
        "ERROR",
        _re(
            r"\berrors?\b|\bfail(?:ure|ed|ing)?s?\b|\bexceptions?\b|\btracebacks?\b|"
            r"\bstack ?traces?\b|\bcrash(?:es|ed)?\b",
            "에러|오류|예외|실패|크래시",
        ),
    ),
    ("CRITICAL", _re(r"\bcritical\b|\bfatal\b", "치명|크리티컬")),
)
_CONTAINING = lazy(
    r"\b(?:containing|mentioning|matching|with the (?:text|word|message)|that says?|saying)\s+"
    r"([^\s,;]+)"
)
_LOG_LINES = (
    lazy(r"\b(\d+)\s+(?:log\s+)?(?:lines?|entries|logs?|messages?)\b"),
    lazy(rf"({NUMBER})\s*(?:줄|라인)"),
)
_WHAT_CHANGED = _re(
    r"\bwhat(?:'s| has| have| got)? (?:been )?(?:changed|happened)\b|\bwhat changed\b|"
    r"\banything (?:change|changed|new|happen|happened)\b|"
    r"\b(?:any|recent|latest) changes\b|\bchanges? (?:in|over|since|during|of) the\b|"
    r"\bchange ?log\b|\bwhat(?:'s| is) new\b|\bwhat did (?:we|you|they|someone) change\b",
    "뭐가\\s?(?:바뀌|변했|달라)|무엇이\\s?(?:바뀌|변했)|바뀐\\s?(?:거|것|게|점)|변경\\s?(?:사항|내역|점|된\\s?(?:거|것|게))|"
    "무슨\\s?일|뭔\\s?일|달라진|변화",
)
_MIN_INSTANCES = (
    lazy(
        r"\b(?:min(?:imum)?|at least|no (?:fewer|less) than|keep)(?:\s+(?:instances?|replicas?|"
        r"count|number|of))*\s*(?:to|=|:|of|at|is|be)?\s*(\d+)\b"
    ),
    lazy(r"\b(\d+)\s+(?:min(?:imum)?\s+instances?|warm|always[- ]on|hot|idle)\b"),
    lazy(r"\bkeep (\d+) (?:instances? )?(?:warm|running|up|alive|hot)\b"),
    lazy(rf"최소\s*(?:인스턴스|레플리카)?\s*(?:수|개수)?\s*(?:를|을|는|은|가|이)?\s*({NUMBER})"),
    lazy(rf"({NUMBER})\s*(?:개|대)?\s*(?:이상)"),
)
_MAX_INSTANCES = (
    lazy(
        r"\b(?:max(?:imum)?|at most|up to|no more than|cap(?:ped)?(?: it)? at|limit(?:ed)?(?: it)? "
        r"to|ceiling(?: of)?)(?:\s+(?:instances?|replicas?|count|number|of))*\s*(?:to|=|:|of|at|is|"
        r"be)?\s*(\d+)\b"
    ),
    lazy(r"\b(\d+)\s+max(?:imum)?\s+instances?\b"),
    lazy(rf"최대\s*(?:인스턴스|레플리카)?\s*(?:수|개수)?\s*(?:를|을|는|은|가|이)?\s*({NUMBER})"),
    lazy(rf"({NUMBER})\s*(?:개|대)?\s*(?:이하|까지)"),
)
_ANY_INSTANCES = (
    lazy(r"\b(\d+)\s*(?:instances?|replicas?|copies|containers)\b"),
    lazy(r"\b(?:to|at)\s+(\d+)\b"),
    lazy(rf"({NUMBER})\s*(?:개|대)"),
    lazy(rf"인스턴스\s*(?:수|개수)?\s*(?:를|을)?\s*({NUMBER})"),
)


def _functions(text: str) -> list[str]:
    """The functions the text names, each once, in the order the text names them."""
    found: dict[str, int] = {}
    for name, pattern in _FUNCTION_PATTERNS:
        match = pattern.search(text)
        while match is not None:
            found.setdefault(name, match.start())
            text = text[: match.start()] + " " * (match.end() - match.start()) + text[match.end() :]
            match = pattern.search(text)
    return sorted(found, key=found.__getitem__)


def _numbers_of(patterns: tuple[LazyPattern, ...], text: str) -> list[int]:
    values = []
    for pattern in patterns:
        for match in pattern.finditer(text):
            value = quantities.korean_number(match.group(1))
            if value is not None and value == int(value):
                values.append(int(value))
    return list(dict.fromkeys(values))


def _one_function(text: str, tool: str, verb: str) -> str:
    """The one function a changing command names; `Refused` for none, two or all."""
    named = _functions(text)
    if len(named) > 1:
        raise Refused(TWO_FUNCTIONS.format(tool, _listed(named)))
    if not named:
        if _EVERY_FUNCTION.search(text):
            raise Refused(ALL_FUNCTIONS.format(tool))
        raise Refused(NO_FUNCTION.format(tool, verb, FUNCTION_EXAMPLES))
    if _EVERY_FUNCTION.search(re.sub(r"\bplatform\b|플랫폼", " ", text)):
        raise Refused(ALL_FUNCTIONS.format(tool))
    if _LATER.search(text):
        raise Refused(LATER)
    return named[0]


def _no_numbers(text: str, tool: str) -> None:
    """`Refused` when a restart or a rollback names a number it would drop."""
    left = quantities.leftover_numbers(_SILENCE_ID.sub(" ", text))
    if left:
        raise Refused(LEFTOVER.format(", ".join(left), tool))


def _scale(text: str) -> Reading:
    named = _functions(text)
    if not named:
        weak = [name for name, pattern in _SCALED_ONLY if pattern.search(text)]
        if len(weak) == 1:
            text = _SCALED_ONLY[[n for n, _ in _SCALED_ONLY].index(weak[0])][1].sub(
                f"{weak[0]} function", text
            )
    function = _one_function(text, "scale_function", "scale")
    spelt = quantities.english(text)
    low, high = _numbers_of(_MIN_INSTANCES, spelt), _numbers_of(_MAX_INSTANCES, spelt)
    for values, what in ((low, "minimum"), (high, "maximum")):
        if len(values) > 1:
            raise Refused(TWO_VALUES.format(f"{what} of instances", ", ".join(map(str, values))))
    if not (low or high):
        given = _numbers_of(_ANY_INSTANCES, spelt)
        if given:
            raise Refused(WHICH_INSTANCES.format(", ".join(map(str, given))))
        raise Refused(NO_INSTANCES)
    arguments: dict[str, Any] = {"function": function}
    if low:
        arguments["minInstances"] = low[0]
    if high:
        arguments["maxInstances"] = high[0]
    placed = spelt
    for pattern in (*_MIN_INSTANCES, *_MAX_INSTANCES):
        placed = pattern.sub(" ", placed)
    _no_numbers(_strip_functions(placed), "scale_function")
    return Reading("scale_function", arguments)


def _window(text: str, tool: str, most: int) -> dict[str, Any]:
    """A read's window in minutes, when the text gives one (at most the tool's bound)."""
    found = quantities.windows(text).values or quantities.durations(text).values
    if not found:
        return {}
    minutes = max(1, math.ceil(found[0] / 60))
    return (
        {"minutes": min(minutes, most)}
        if tool != "what_changed"
        else {"hours": min(max(1, math.ceil(found[0] / 3600)), most)}
    )


def _logs(text: str, original: str, named: list[str]) -> Reading:
    arguments: dict[str, Any] = {}
    if len(named) == 1:
        arguments["function"] = named[0]
    levels = [level for level, pattern in _SEVERITY_WORDS if pattern.search(text)]
    if levels:
        arguments["severity"] = levels[0]
    for pattern in _QUOTED:
        quoted = pattern.search(original)
        if quoted:
            arguments["text"] = quoted.group(1).strip()[:200]
            break
    else:
        containing = _CONTAINING.search(text)
        if containing:
            arguments["text"] = containing.group(1).strip("'\"")[:200]
    arguments.update(_window(text, "function_logs", 7 * 24 * 60))
    lines = _numbers_of(_LOG_LINES, quantities.english(text))
    counted = lines or [int(v) for v in quantities.counts(text).values if v == int(v)]
    if len(counted) == 1:
        arguments["limit"] = min(counted[0], LIMITS["function_logs"])
    return Reading("function_logs", arguments)


def _operating(text: str, original: str) -> Reading | None:
    """What the command asks of the platform's functions, or None when it asks nothing of
    them (another reader's turn)."""
    named = _functions(text)
    other_things = bool(_AGENT.search(text) or _LOADTEST.search(text))
    if _RESTART.search(text):
        if not named and other_things:
            return None  # an agent or a load test: theirs to read
        function = _one_function(text, "restart_function", "restart")
        _no_numbers(_strip_functions(text), "restart_function")
        return Reading("restart_function", {"function": function})
    if _ROLL_BACK.search(text):
        function = _one_function(text, "rollback_function", "roll back")
        _no_numbers(_ONE_OF_THEM.sub(" ", _strip_functions(text)), "rollback_function")
        return Reading("rollback_function", {"function": function})
    if _asks_to_scale(text, named) and (
        named or not other_things or any(p.search(text) for _, p in _SCALED_ONLY)
    ):
        return _scale(text)
    if _impossible(text) is not None:
        return None  # a message to send, a threshold to change ...: refused as such
    if _WHAT_CHANGED.search(text) and not named and not other_things:
        return Reading("what_changed", _window(text, "what_changed", 7 * 24))
    if _asks_for_logs(text, named):
        if len(named) > 1:
            raise Refused(TWO_FUNCTIONS.format("function_logs", _listed(named)))
        return _logs(text, original, named)
    if (named or _EVERY_FUNCTION.search(text)) and _STATUS.search(text):
        if len(named) > 1:
            raise Refused(TWO_FUNCTIONS.format("platform_status", _listed(named)))
        arguments: dict[str, Any] = {"function": named[0]} if named else {}
        return Reading("platform_status", {**arguments, **_window(text, "platform_status", 1440)})
    return None


def _asks_to_scale(text: str, named: list[str]) -> bool:
    """A change of instances: a scaling word and a verb or a bound, not a question about
    the instances there are ("how many instances does chat have?")."""
    if not (_SCALE.search(text) or (named and _BARE_MIN_MAX.search(text))):
        return False
    if not _SCALE_ASK.search(text):
        return False
    spelt = quantities.english(text)
    bounded = _numbers_of(_MIN_INSTANCES, spelt) or _numbers_of(_MAX_INSTANCES, spelt)
    return bool(bounded) or not _STATUS_QUESTION.search(text)


def _asks_for_logs(text: str, named: list[str]) -> bool:
    """Logs, or a function's errors or warnings (not their number: that is its status);
    without a function named, not when the command is about deploys, alerts, silences,
    agents or load tests."""
    severe = _ERRORS.search(text) or _SEVERITY_WORDS[2][1].search(text)
    errors_read = bool(severe) and not _ERRORS_COUNTED.search(text)
    if not (_LOGS.search(text) or (errors_read and named)):
        return False
    if named:
        return True
    return not (
        _AGENT.search(text)
        or _LOADTEST.search(text)
        or _DEPLOY.search(text)
        or _ALERT.search(text)
        or _SILENCE_NOUN.search(text)
    )


# "the last one", "the previous one": a revision spoken of, not a number.
_ONE_OF_THEM = lazy(r"\b(?:last|previous|prior|old|older|earlier|other|good|working) one\b")


def _strip_functions(text: str) -> str:
    for _, pattern in _FUNCTION_PATTERNS:
        text = pattern.sub(" ", text)
    return text


_IMPOSSIBLE: tuple[tuple[LazyPattern, str], ...] = (
    (
        _re(
            r"\b(?:slack|e-?mail|sms|text message|dm)\b.*\b(?:send|post|message|tell|notify|"
            r"ping|write|share|forward|broadcast|announce)\b",
            r"\b(?:send|post|message|tell|notify|ping|write|share|forward|broadcast|announce)"
            r"\b.*\b(?:slack|e-?mail|sms|text message|channel|on-?call|the team)\b",
            "(?:슬랙|메일|이메일|문자|채널|팀)\\S*\\s?.*(?:보내|올려|남겨|전송|공유|알려\\s?줘|공지)",
            "메시지\\s?(?:를\\s?)?(?:보내|전송|남겨)",
        ),
        CANNOT_MESSAGE,
    ),
    (
        _re(
            r"\b(?:threshold|alert(?:ing)? rule|alert(?:ing)? polic(?:y|ies)|sensitivity)\b.*"
            r"\b(?:change|set|raise|lower|increase|decrease|adjust|update|bump|tweak|modify|"
            r"make|reduce|to \d)\b",
            r"\b(?:change|set|raise|lower|increase|decrease|adjust|update|bump|tweak|modify|"
            r"reduce)\b.*\b(?:threshold|alert(?:ing)? rule|alert(?:ing)? polic(?:y|ies)|"
            r"sensitivity)\b",
            "(?:임계|기준값|기준치|알림\\s?규칙|알림\\s?조건|민감도).*(?:바꿔|변경|올려|낮춰|조정|수정|설정|"
            "높여|줄여|늘려)",
        ),
        CANNOT_THRESHOLD,
    ),
    (
        _re(
            r"\b(?:ack|acknowledge|acknowledging|resolve|dismiss|close out|mark)\b.*"
            r"\b(?:alerts?|incidents?|pages?|it|them|that|this|resolved|read|done)\b",
            r"\b(?:delete|remove|clear|close|archive|purge|wipe)\b (?:[a-z-]+ ){0,3}"
            r"(?:alerts?|incidents?)\b",
            "(?:알림|알람|경보|장애|인시던트)\\S*\\s?.*(?:확인\\s?처리|해결\\s?처리|처리\\s?완료|"
            "종료\\s?처리|읽음|닫아|삭제|지워|해결됨|해결\\s?했|ack)",
        ),
        CANNOT_ACKNOWLEDGE,
    ),
)
_RECORDS_WRITE = _re(
    r"\b(?:delete|remove|clear|purge|wipe|erase|edit|modify|rename|hide)\b (?:[a-z-]+ ){0,3}"
    r"(?:deploy(?:ment)?s?|deploy(?:ment)? events?|releases?|runs?|load[ -]?test (?:runs|results|"
    r"history)|history)\b",
    "(?:배포|부하\\s?테스트|실행)\\s?(?:이벤트|이력|기록|내역|결과)\\S*\\s?(?:삭제|지워|지우|수정|없애)",
)
_DEPLOY_VERB = _re(
    r"(?:^|\b(?:please|pls|can you|could you|would you|will you|go ahead and|let us|now|then|"
    r"and|to|just)\s+)(?:re)?deploy\b(?! (?:events?|history|log|logs|status|list|records?|"
    r"alerts?|notifications?|pages?|paging|warnings?))",
    r"\b(?:trigger|start|kick off|launch|begin|cut|roll out|promote|push out)\b (?:a |an |the |"
    r"another |new |fresh )?(?:re)?(?:deploy(?:ment)?|release|rollout)\b",
    r"\b(?:ship|release|promote|deploy) (?:it|this|that|v\d|version|build|main|master|to prod|"
    r"to production|to staging|latest|the latest|the new|the build|commit|again|now)\b",
    r"\bpush (?:it |this |that |the build |main |master )?to (?:prod|production|staging)\b",
    r"\bredeploy\b",
    "배포\\s?(?:해|하자|하세요|진행|시작|시켜|해라|좀\\s?해|를\\s?해|하기|부탁|하고|해야)|재배포|"
    "프로덕션에\\s?올려|운영에\\s?반영|릴리스\\s?(?:해|하자|진행)|릴리즈\\s?(?:해|하자|진행)",
)
_DEPLOY_QUESTION = _re(
    r"\b(?:what|which|when|did|was|were|has|have|show|list|history|status|how many|any)\b",
    "했어|했나|됐어|됐나|됐는지|했는지|나갔|이력|내역|최근|목록|보여|언제|뭐|알려|현황|상태",
)
_AGENT_WRITE = _re(
    r"\b(?:create|make|add|build|set up|spin up|new|pause|resume|unpause|stop|disable|enable|"
    r"activate|deactivate|delete|remove|rename|update|edit|change|archive|kill|turn off|"
    r"duplicate|clone|restart)\b(?:[^.?!]{0,40})\bagents?\b",
    r"\bagents?\b(?:[^.?!]{0,20})\b(?:create|pause|resume|delete|remove|rename|deactivate|"
    r"archive)\b",
    "에이전트\\S*\\s?(?:\\S+\\s?)?(?:만들|생성|추가|일시\\s?정지\\s?(?:해|시켜|좀)|정지\\s?(?:해|시켜)|"
    "중지\\s?(?:해|시켜)|멈춰|삭제|지워|이름\\s?바꿔|수정|재개|활성화\\s?(?:해|시켜)|비활성화|끄|꺼)",
    "(?:새|새로운)\\s?에이전트",
)
_NEGATION = _re(
    r"\b(?:do not|does not|did not|never|no need to|need not|not necessary|unnecessary|"
    r"should not|must not|not now|never ?mind|refrain from|avoid|hold off on|no,)\b",
    r"\bnot (?:to|yet)\b|\bno(?:t)? (?:silenc|mut|snooz|run|start|launch|expir)",
    "말고|말아|말자|하지\\s?마|지\\s?마(?:세요|라|요)?(?!\\S)|지\\s?말(?:고|아|자|것|기)|안\\s?해도|"
    "않아도|필요\\s?없|할\\s?필요|하지\\s?않|안\\s?돼|금지|그만두|하지\\s?말|하면\\s?안",
)


# Runs spoken of as things ("실행 기록", "the runs I started"): no request to start one.
_RUN_NOUNS = _re(
    "실행\\s?(?:기록|이력|결과|내역|목록|횟수|된|했던|한\\s)|돌린\\s?(?:것|거|결과|테스트)|돌렸던|시작한|시작했던",
    r"\b(?:i|we|you|they|someone) (?:just )?(?:started|ran|launched|kicked off|triggered)\b",
)
# A request to start that a read cue ("the last run") does not outweigh.
_ASK_START_STRONG = _re(
    r"\b(?:start|launch|kick(?:ing)? off|fire(?: off| up)?|trigger|execute|begin|initiate|"
    r"spin up|rerun|re-run|repeat|redo|restart|schedule)\b",
    r"(?:^|\b(?:please|pls|can you|could you|would you|will you|go|now|then|just|let us)\s+)"
    r"(?:re-?)?run\b|\brun (?:a|an|the|another|one|1|light|medium|heavy|spike)\b",
    "돌려|돌리|실행|시작|수행|걸어",
)
_END_VERB = (
    r"unmute|un-mute|unsilence|un-silence|unsnooze|expire|lift|remove|delete|cancel|end|drop|"
    r"revoke|clear|undo|kill|stop|terminate|purge|wipe|release|deactivate|disable|get rid of|"
    r"take (?:off|down)|turn off|switch off|close"
)
# Ending a silence (or every silence), or asking for alerts back.
_UNSILENCE = _re(
    rf"\b(?:{_END_VERB})\b (?:[a-z-]+ ){{0,3}}(?:silences?|mutes?|snoozes?)\b",
    r"\bun-?(?:mute|silence|snooze)",
    r"\b(?:turn|switch) (?:[a-z-]+ ){0,3}(?:alerts?|notifications?|pag(?:es|ing)) "
    r"(?:[a-z-]+ )?(?:back )?on\b|\b(?:re-?enable|resume|unpause|restore|reinstate|"
    r"re-?activate|bring back) (?:[a-z-]+ ){0,3}(?:alerts?|notifications?|pag(?:es|ing))\b",
    "(?:사일런스|음소거|뮤트|무음)\\S*\\s?(?:을|를)?\\s?(?:해제|풀|만료|취소|삭제|지워|없애|끝내|종료|꺼)",
    "(?:알림|알람|노티)\\S*\\s?(?:다시\\s?(?:켜|받|울리)|재개|살려|켜\\s?줘|복구)",
)


# -- the reading -----------------------------------------------------------------------


def _named(text: str, names: dict[str, LazyPattern]) -> list[str]:
    return [name for name, pattern in names.items() if pattern.search(text)]


def _listed(values: list[str]) -> str:
    return " and ".join(values)


def _one(found: Found, what: str) -> float | None:
    if len(found.values) > 1:
        shown = ", ".join(f"{v:g}" for v in found.values)
        raise Refused(TWO_VALUES.format(what, shown))
    return found.one


def _duration_text(seconds: float) -> str:
    if seconds % 86_400 == 0:
        return f"{seconds / 86_400:g} days"
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} hours"
    if seconds % 60 == 0:
        return f"{seconds / 60:g} minutes"
    return f"{seconds:g} seconds"


def _duration(text: str) -> float | None:
    """The one duration a changing command gives, in seconds, or None; `Refused` when it
    gives two, or only a vague one."""
    found = quantities.durations(text)
    if len(found.values) > 1:
        raise Refused(TWO_DURATIONS.format(", ".join(map(_duration_text, found.values))))
    if found.one is None and found.vague:
        raise Refused(VAGUE_DURATION.format(found.vague))
    return found.one


def _limit(text: str, tool: str) -> dict[str, Any]:
    """A read's `limit` when the text gives one count (at most the tool's bound)."""
    found = quantities.counts(text).values
    if len(found) != 1 or found[0] != int(found[0]):
        return {}
    return {"limit": min(int(found[0]), LIMITS[tool])}


# A request to silence a named source, beside a silence id: two actions.
_SILENCES_A_SOURCE = _re(
    r"\b(?:mute|silence|snooze|suppress|hush|quiet)\b(?: (?!sil_)[^\s,;.]+){0,2} (?:chat|deploy|"
    r"load|loadtest|"
    r"monitoring|dead|dlq)",
    "(?:채팅|배포|부하|모니터링|데드)\\S*\\s?(?:알림\\S*\\s?)?(?:꺼|음소거|뮤트|조용히)",
)


def _silence_by_id(text: str, ids: list[str]) -> Reading:
    if _SILENCE_EXTEND.search(text):
        raise Refused(CANNOT_EXTEND_SILENCE)
    if _SILENCE_RESTORE.search(text):
        raise Refused(CANNOT_RESTORE_SILENCE)
    if re.search(
        r"다시\s?켜|켜\s?줘|\bre-?enable\b|\b(?:turn|switch) \S+ (?:back )?on\b", text
    ) and not (
        _ALERT.search(text)
        or re.search(r"풀|해제|끄|꺼|만료|취소|삭제|\bunmute|\blift|\bend\b", text)
    ):
        raise Refused(CANNOT_RESTORE_SILENCE)
    asks = re.match(r"(?:is|are|was|has|does|did)\b", text) or text.endswith("?")
    if _SILENCE_END.search(text) and not (asks and re.search(r"\bexpired\b|\bended\b", text)):
        if _SILENCES_A_SOURCE.search(text):
            raise Refused(TWO_ACTIONS.format("create_silence and expire_silence"))
        if len(ids) > 1:
            raise Refused(TWO_SILENCE_IDS.format(_listed(ids)))
        return Reading("expire_silence", {"silenceId": ids[0]})
    if _SILENCE_VERB.search(text) and re.search(r"\bagain\b|다시", text):
        raise Refused(CANNOT_RESTORE_SILENCE)
    if (_READ.search(text) or asks) and not _SILENCE_VERB.search(text):
        return Reading("active_silences", {})
    raise Refused(UNCLEAR_SILENCE.format(_listed(ids)))


def _create_silence(text: str) -> Reading:
    sources = _named(text, _SOURCES)
    if not sources:
        raise Refused(ALL_SOURCES if _ALL.search(text) else NO_SOURCE)
    if len(sources) > 1:
        raise Refused(TWO_SOURCES.format(_listed(sources)))
    if _LATER.search(text):
        raise Refused(LATER)
    seconds = _duration(text)
    minutes = 60 if seconds is None else seconds / 60
    if minutes != int(minutes):
        raise Refused(SILENCE_WHOLE_MINUTES.format(_duration_text(seconds or 0)))
    if not 1 <= minutes <= 7 * 24 * 60:
        raise Refused(SILENCE_BOUNDS.format(_duration_text(seconds or 0)))
    _all_placed(text, "create_silence")
    return Reading("create_silence", {"source": sources[0], "durationMinutes": int(minutes)})


def _silences(text: str) -> Reading | None:
    """A silence to make or end, silences to list, or what no tool does with silences."""
    ids = _SILENCE_ID.findall(text)
    if ids:
        return _silence_by_id(text, ids)
    about_silences = bool(_SILENCE_NOUN.search(text))
    creates = bool(_SILENCE_VERB.search(text))
    if _UNSILENCE.search(text):
        if _ALL.search(text) or re.search(r"\b(?:silences|mutes|snoozes)\b", text):
            raise Refused(CANNOT_END_ALL_SILENCES)
        raise Refused(NO_SILENCE_ID)
    if (about_silences or creates or _SILENCE_LIST.search(text)) and _SILENCE_EXTEND.search(text):
        raise Refused(CANNOT_EXTEND_SILENCE)
    if about_silences and _SILENCE_RESTORE.search(text):
        raise Refused(CANNOT_RESTORE_SILENCE)
    if _SILENCE_LIST.search(text) and (_READ.search(text) or not creates):
        return Reading("active_silences", _limit(text, "active_silences"))
    return _create_silence(text) if creates else None


def _all_placed(text: str, tool: str) -> None:
    """`Refused` when the command gives a number no argument of the changing tool took."""
    left = quantities.leftover_numbers(_SILENCE_ID.sub(" ", text))
    if left:
        raise Refused(LEFTOVER.format(", ".join(left), tool))


def _bounded(value: float | None, low: float, high: float, message: str) -> float | None:
    if value is not None and not low <= value <= high:
        raise Refused(message.format(f"{value:g}"))
    return value


def _start_loadtest(text: str) -> Reading:
    if _LATER.search(text):
        raise Refused(LATER)
    scenarios = _named(text, _SCENARIOS)
    if not scenarios:
        raise Refused(NO_SCENARIO)
    if len(scenarios) > 1:
        raise Refused(TWO_SCENARIOS.format(_listed(scenarios)))
    arguments: dict[str, Any] = {"scenario": scenarios[0]}
    seconds = _duration(text)
    if seconds is not None:
        if not 0 < seconds <= 600:
            raise Refused(LOADTEST_BOUNDS.format(_duration_text(seconds)))
        arguments["durationSeconds"] = int(seconds) if seconds == int(seconds) else seconds
    users = _bounded(_one(quantities.users(text), "number of users"), 1, 1000, USERS_BOUNDS)
    if users is not None:
        arguments["users"] = int(users)
    if re.search(
        r"\btwice\b|\bthrice\b|\b(?:\d+|two|three|several) times\b|"
        r"(?:두|세|네|다섯|\d+)\s?(?:번|회)(?!\s?더)",
        text,
    ):
        raise Refused(SEVERAL_RUNS)
    cap = _bounded(_one(quantities.request_caps(text), "request cap"), 1, 100_000, REQUESTS_BOUNDS)
    if cap is not None:
        arguments["maxRequests"] = int(cap)
    _all_placed(text, "start_loadtest")
    return Reading("start_loadtest", arguments)


def _loadtests(text: str) -> Reading | None:
    if not _LOADTEST.search(text):
        return None
    if (
        _ASK_STOP.search(text)
        and not _STOP_IS_A_CAP.search(text)
        and not _ALERT.search(text)
        and not re.search(r"\bstop(?:ped)? (?:early|because|with)\b", text)
    ):
        raise Refused(CANNOT_STOP_LOADTEST)
    asks = _RUN_NOUNS.sub(" ", text)
    if (_ALERT.search(text) or _SILENCE_VERB.search(text)) and not _ASK_START_STRONG.search(asks):
        return None  # the load test's alerts, not a load test
    reads = _READ.search(asks)
    shaped = (
        quantities.users(text).values
        or quantities.request_caps(text).values
        or quantities.durations(text).values
    )
    if _ASK_START_STRONG.search(asks) or ((_ASK_START.search(asks) or shaped) and not reads):
        return _start_loadtest(text)
    if not (reads or len(text.split()) <= 3):
        return None
    arguments: dict[str, Any] = {}
    scenarios = _named(text, _SCENARIOS)
    if len(scenarios) == 1:
        arguments["scenario"] = scenarios[0]
    return Reading("loadtest_runs", {**arguments, **_limit(text, "loadtest_runs")})


def _alerts(text: str) -> Reading | None:
    if not _ALERT.search(text):
        return None
    if not (_READ.search(text) or len(text.split()) <= 3):
        return None
    return Reading("active_alerts", _limit(text, "active_alerts"))


def _deploys(text: str) -> Reading | None:
    if not _DEPLOY.search(text):
        return None
    if not (_READ.search(text) or len(text.split()) <= 3 or re.search(r"\bshipped\b", text)):
        return None
    return Reading("recent_deploy_events", _limit(text, "recent_deploy_events"))


def _agents(text: str) -> Reading | None:
    if not _AGENT.search(text):
        return None
    if not (_READ.search(text) or re.search(r"\bmy agents\b|내\s?에이전트", text)):
        return None
    arguments: dict[str, Any] = {}
    if re.search(r"\bpaused\b|\binactive\b|일시\s?정지|멈춘|중지된|정지된|비활성", text):
        arguments["status"] = "paused"
    elif re.search(r"\bactive\b|\brunning\b|활성|동작\s?중", text):
        arguments["status"] = "active"
    return Reading("list_my_agents", {**arguments, **_limit(text, "list_my_agents")})


def _persona(original: str) -> Reading:
    for pattern in _QUOTED:
        quoted = pattern.search(original)
        if quoted:
            return Reading("route_to_persona", {"text": quoted.group(1)})
    _, colon, rest = original.partition(":")
    return Reading(
        "route_to_persona", {"text": rest.strip() if colon and rest.strip() else original.strip()}
    )


def _impossible(text: str) -> str | None:
    for pattern, reason in _IMPOSSIBLE:
        if pattern.search(text):
            return reason
    if _RECORDS_WRITE.search(text):
        return CANNOT_CHANGE_RECORDS
    if _DEPLOY_VERB.search(text) and not _DEPLOY_QUESTION.search(text):
        return CANNOT_DEPLOY
    if _AGENT_WRITE.search(text) and not re.search(
        r"\b(?:show|list|which|how many|what)\b|보여|목록|몇|뭐|알려|있어|리스트", text
    ):
        return CANNOT_CHANGE_AGENTS
    return None


def _negated(text: str) -> bool:
    """The command says not to do what it names ("don't notify me" asks for a silence)."""
    kept = re.sub(
        r"\b(?:do not|never) (?:notify|alert|page|ping|bother|send|wake|spam)\b|"
        r"\b(?:do not|no longer) want\b|(?:오|울리|뜨|보내|알리)지\s?(?:않게|말|마)",
        " ",
        text,
    )
    return bool(_NEGATION.search(kept))


def _acting(text: str) -> Reading | None:
    """What the command asks of silences and load tests: one reading, or `Refused` when a
    part of it is refused or it asks for two changes."""
    readings, refusals = [], []
    for reader in (_silences, _loadtests):
        try:
            found = reader(text)
        except Refused as refused:
            refusals.append(refused)
            continue
        if found is not None:
            readings.append(found)
    if refusals:
        raise refusals[0]
    changing = [r for r in readings if r.tool in CHANGING]
    if len(changing) > 1:
        raise Refused(TWO_ACTIONS.format(_listed([str(r.tool) for r in changing])))
    chosen = changing or readings
    return chosen[0] if chosen else None


@functools.lru_cache(maxsize=256)
def understand(text: str) -> Reading:
    """What the command asks for: a tool and its arguments, or no tool and why."""
    unquoted = normalise(_unquoted(text))
    # A text to route is the persona's payload (quoted, or after a colon), not the command.
    routes = _PERSONA.search(unquoted.partition(":")[0]) and (
        "persona-router" not in _functions(unquoted.partition(":")[0])
    )
    command = unquoted.partition(":")[0] if routes else normalise(text)
    negated = _negated(command)
    try:
        if _ABOUT.search(command):
            return Reading(reason=ABOUT)
        if _STATEMENT.search(command):
            return Reading(reason=STATEMENT)
        operating = None if routes else _operating(command, text)
        if operating is not None:
            return Reading(reason=NEGATED) if negated else operating
        impossible = _impossible(command)
        if impossible is not None:
            return Reading(reason=NEGATED if negated else impossible)
        if routes:
            return Reading(reason=NEGATED) if negated else _persona(text)
        reading = _acting(command)
        for reader in (_alerts, _deploys, _agents):
            if reading is not None:
                break
            reading = reader(command)
    except Refused as refused:
        return Reading(reason=NEGATED if negated else refused.reason)
    if reading is None:
        return Reading(reason=NEGATED if negated else NO_TOOL)
    return Reading(reason=NEGATED) if negated else reading


def read(text: str) -> tuple[str, dict[str, Any]] | None:
    """The tool a request asks for and its arguments, or None (most text asks for none)."""
    reading = understand(text)
    return (reading.tool, dict(reading.arguments)) if reading.tool else None


def reader_for(name: str) -> Callable[[str], dict[str, Any] | None]:
    """The arguments when the text asks for tool `name`, else None: the offline model's
    reading of one tool."""

    def match(text: str) -> dict[str, Any] | None:
        reading = understand(text)
        return dict(reading.arguments) if reading.tool == name else None

    return match
