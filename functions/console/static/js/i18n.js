// Interface text in English and Korean. Elements carry `data-i18n` (their text) or
// `data-i18n-aria-label` (their accessible name); messages built in code use `t()`.

const STORAGE_KEY = "agentPlatform.language";

const MESSAGES = {
  en: {
    skipToContent: "Skip to content",
    appTitle: "Agent platform",
    sessionStarting: "Starting a guest session…",
    sessionActive: "Guest session · expires {time}",
    sessionEnded: "No session. Start a new one to continue.",
    endSession: "End session",
    newSession: "Start a new session",
    language: "Language",
    sections: "Sections",
    tabAgents: "Agents",
    tabChat: "Chat",
    tabRouter: "Persona router",
    tabDashboard: "Dashboard",
    tabOperator: "Operator",
    agentsTitle: "Agents",
    newAgent: "New agent",
    editAgent: "Edit agent",
    agentsEmpty: "No agents yet. Create one to start chatting.",
    name: "Name",
    systemPrompt: "System prompt",
    persona: "Persona",
    personaNone: "None",
    personaAuto: "Auto (routed per message)",
    model: "Model",
    create: "Create",
    save: "Save",
    cancel: "Cancel",
    delete: "Delete",
    edit: "Edit",
    chat: "Chat",
    confirmDelete: "Delete the agent “{name}” and its conversations? This cannot be undone.",
    agentStats: "{runs} runs · {success} success · {tokens} tokens · {latency}",
    noRunsYet: "no runs yet",
    chatTitle: "Chat",
    agent: "Agent",
    chooseAgent: "Choose an agent",
    conversations: "Conversations",
    newConversation: "New conversation",
    untitled: "Untitled",
    messages: "Messages",
    message: "Message",
    send: "Send",
    stop: "Stop",
    you: "You",
    assistant: "Assistant",
    personaBadge: "{persona} · {confidence}",
    answerStopped: "Stopped",
    answerFailed: "The answer failed: {message}",
    needAgent: "Create an agent first, then choose it here.",
    routerTitle: "Persona router",
    messageToRoute: "Message to route",
    route: "Route",
    chosenPersona: "Chosen persona",
    scores: "Scores",
    scoresChart: "Scores: {values}",
    secondary: "Runner-up",
    resonanceKey: "Resonance key",
    reasoning: "Reasoning",
    dashboardTitle: "Dashboard",
    refresh: "Refresh",
    totalAgents: "Agents",
    activeAgents: "Active agents",
    totalRuns: "Runs",
    successRate: "Success rate",
    tokens: "Tokens",
    operatorTitle: "Operator",
    operatorToken: "Operator token",
    useToken: "Use token",
    forgetToken: "Forget token",
    operatorHint: "The token stays in this tab only (session storage).",
    alertsTitle: "Alerts",
    status: "Status",
    severity: "Severity",
    summary: "Summary",
    lastSeen: "Last seen",
    count: "Count",
    history: "History",
    alertsEmpty: "No alerts.",
    alertHistoryTitle: "History of “{summary}”",
    noNotifications: "No notification sent yet.",
    notificationLine: "{time} · {channel} · {title}",
    loadtestsTitle: "Load tests",
    scenario: "Scenario",
    durationSeconds: "Duration (s, optional)",
    runLoadTest: "Run load test",
    loadtestRunning: "Running “{scenario}”: {elapsed} s of about {total} s",
    loadtestFinishing: "Running “{scenario}”: judging the results…",
    loadtestDone: "Run finished: {verdict}",
    latencyOverTime: "p50 / p95 / p99 of {endpoint} over time (ms)",
    latencyChart: "Latency percentiles of {endpoint} over {count} runs",
    started: "Started",
    requests: "Requests",
    verdict: "SLO verdict",
    pass: "pass",
    fail: "fail",
    regression: "regression",
    loadtestsEmpty: "No load-test runs yet.",
    errorRetry: "{message} Try again in {seconds} s.",
    errorRateLimited: "Too many requests.",
    errorUnavailable: "The service is busy or unavailable.",
    errorNetwork: "The platform could not be reached. Check your connection and try again.",
    errorSession: "Your session has ended. Start a new one to continue.",
    errorOperator: "The operator token was refused.",
    sendHint: "Enter sends · Shift+Enter adds a new line",
    pickAgent: "Choose an agent first, then send.",
    chatWith: "Chat with {agent}",
    copy: "Copy",
    copyCode: "Copy code",
    copied: "Copied",
    copyByHand: "Selected: press Ctrl+C",
    confirmEndSession: "End this guest session? Its agents and conversations can no longer be reached from this browser.",
    endpoint: "Endpoint",
    failures: "Failures",
    details: "Details",
    runTitle: "Run of {time} ({scenario}): {verdict}",
    breachesTitle: "SLO breaches",
    breachCount: "SLO breaches: {count}",
    breachLatency: "{metric} was {value} ms, over the {limit} ms objective",
    breachFailures: "failure ratio was {value}, over the {limit} objective",
    overObjective: "over the objective",
    regressionsTitle: "Regressions against earlier runs",
    endpointsCaption: "Percentiles per endpoint of this run",
    latencyOverTimeNone: "p50 / p95 / p99 over time (ms)",
    runStarted: "Run start time",
  },
  ko: {
    skipToContent: "본문으로 건너뛰기",
    appTitle: "에이전트 플랫폼",
    sessionStarting: "게스트 세션을 시작하는 중…",
    sessionActive: "게스트 세션 · {time}에 만료",
    sessionEnded: "세션이 없습니다. 계속하려면 새 세션을 시작하세요.",
    endSession: "세션 종료",
    newSession: "새 세션 시작",
    language: "언어",
    sections: "섹션",
    tabAgents: "에이전트",
    tabChat: "채팅",
    tabRouter: "페르소나 라우터",
    tabDashboard: "대시보드",
    tabOperator: "운영자",
    agentsTitle: "에이전트",
    newAgent: "새 에이전트",
    editAgent: "에이전트 편집",
    agentsEmpty: "아직 에이전트가 없습니다. 채팅하려면 하나 만드세요.",
    name: "이름",
    systemPrompt: "시스템 프롬프트",
    persona: "페르소나",
    personaNone: "없음",
    personaAuto: "자동 (메시지마다 선택)",
    model: "모델",
    create: "만들기",
    save: "저장",
    cancel: "취소",
    delete: "삭제",
    edit: "편집",
    chat: "채팅",
    confirmDelete: "에이전트 “{name}”와 대화를 삭제할까요? 되돌릴 수 없습니다.",
    agentStats: "실행 {runs}회 · 성공 {success} · 토큰 {tokens} · {latency}",
    noRunsYet: "아직 실행 없음",
    chatTitle: "채팅",
    agent: "에이전트",
    chooseAgent: "에이전트를 선택하세요",
    conversations: "대화",
    newConversation: "새 대화",
    untitled: "제목 없음",
    messages: "메시지 기록",
    message: "메시지",
    send: "보내기",
    stop: "중지",
    you: "나",
    assistant: "어시스턴트",
    personaBadge: "{persona} · {confidence}",
    answerStopped: "중지됨",
    answerFailed: "답변 실패: {message}",
    needAgent: "먼저 에이전트를 만든 다음 여기에서 선택하세요.",
    routerTitle: "페르소나 라우터",
    messageToRoute: "라우팅할 메시지",
    route: "라우팅",
    chosenPersona: "선택된 페르소나",
    scores: "점수",
    scoresChart: "점수: {values}",
    secondary: "차점",
    resonanceKey: "공명 키",
    reasoning: "근거",
    dashboardTitle: "대시보드",
    refresh: "새로 고침",
    totalAgents: "에이전트",
    activeAgents: "활성 에이전트",
    totalRuns: "실행",
    successRate: "성공률",
    tokens: "토큰",
    operatorTitle: "운영자",
    operatorToken: "운영자 토큰",
    useToken: "토큰 사용",
    forgetToken: "토큰 지우기",
    operatorHint: "토큰은 이 탭에만 보관됩니다 (세션 저장소).",
    alertsTitle: "알림",
    status: "상태",
    severity: "심각도",
    summary: "요약",
    lastSeen: "마지막 발생",
    count: "횟수",
    history: "기록",
    alertsEmpty: "알림이 없습니다.",
    alertHistoryTitle: "“{summary}” 기록",
    noNotifications: "아직 보낸 알림이 없습니다.",
    notificationLine: "{time} · {channel} · {title}",
    loadtestsTitle: "부하 테스트",
    scenario: "시나리오",
    durationSeconds: "시간 (초, 선택)",
    runLoadTest: "부하 테스트 실행",
    loadtestRunning: "“{scenario}” 실행 중: 약 {total}초 중 {elapsed}초",
    loadtestFinishing: "“{scenario}” 실행 중: 결과 판정 중…",
    loadtestDone: "실행 완료: {verdict}",
    latencyOverTime: "시간에 따른 {endpoint}의 p50 / p95 / p99 (ms)",
    latencyChart: "실행 {count}회 동안 {endpoint}의 지연 백분위수",
    started: "시작",
    requests: "요청",
    verdict: "SLO 판정",
    pass: "통과",
    fail: "실패",
    regression: "회귀",
    loadtestsEmpty: "아직 부하 테스트 실행이 없습니다.",
    errorRetry: "{message} {seconds}초 후에 다시 시도하세요.",
    errorRateLimited: "요청이 너무 많습니다.",
    errorUnavailable: "서비스가 바쁘거나 사용할 수 없습니다.",
    errorNetwork: "플랫폼에 연결할 수 없습니다. 연결을 확인하고 다시 시도하세요.",
    errorSession: "세션이 끝났습니다. 계속하려면 새 세션을 시작하세요.",
    errorOperator: "운영자 토큰이 거부되었습니다.",
    sendHint: "Enter로 보내기 · Shift+Enter로 줄 바꿈",
    pickAgent: "먼저 에이전트를 선택한 다음 보내세요.",
    chatWith: "{agent} 대화",
    copy: "복사",
    copyCode: "코드 복사",
    copied: "복사됨",
    copyByHand: "선택됨: Ctrl+C를 누르세요",
    confirmEndSession: "이 게스트 세션을 종료할까요? 이 브라우저에서 세션의 에이전트와 대화에 더 이상 접근할 수 없습니다.",
    endpoint: "엔드포인트",
    failures: "실패",
    details: "자세히",
    runTitle: "{time} 실행 ({scenario}): {verdict}",
    breachesTitle: "SLO 위반",
    breachCount: "SLO 위반 {count}건",
    breachLatency: "{metric} {value} ms, 목표 {limit} ms 초과",
    breachFailures: "실패율 {value}, 목표 {limit} 초과",
    overObjective: "목표 초과",
    regressionsTitle: "이전 실행 대비 회귀",
    endpointsCaption: "이 실행의 엔드포인트별 백분위수",
    latencyOverTimeNone: "시간에 따른 p50 / p95 / p99 (ms)",
    runStarted: "실행 시작 시각",
  },
};

const listeners = [];
let current = pickLanguage();

function pickLanguage() {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (stored && stored in MESSAGES) return stored;
  return navigator.language && navigator.language.toLowerCase().startsWith("ko") ? "ko" : "en";
}

export function language() {
  return current;
}

/** The message `key` in the current language, with `{name}` placeholders filled in. */
export function t(key, values = {}) {
  const text = MESSAGES[current][key] ?? MESSAGES.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in values ? String(values[name]) : match));
}

export function applyTranslations(root = document) {
  document.documentElement.lang = current;
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
  for (const element of root.querySelectorAll("[data-i18n-aria-label]")) {
    element.setAttribute("aria-label", t(element.dataset.i18nAriaLabel));
  }
}

export function setLanguage(code) {
  if (!(code in MESSAGES)) return;
  current = code;
  localStorage.setItem(STORAGE_KEY, code);
  applyTranslations();
  for (const listener of listeners) listener(code);
}

/** Call `listener` after every language change (to re-render text built in code). */
export function onLanguageChange(listener) {
  listeners.push(listener);
}

export function formatTime(value) {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return "–";
  return new Intl.DateTimeFormat(current, { dateStyle: "medium", timeStyle: "short" }).format(date);
}

/** A time-axis label: the time of day, with the date when the axis spans several days. */
export function formatTick(value, withDate = false) {
  const options = withDate
    ? { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }
    : { hour: "2-digit", minute: "2-digit" };
  return new Intl.DateTimeFormat(current, options).format(value);
}

export function formatNumber(value, options = {}) {
  return new Intl.NumberFormat(current, options).format(value);
}

export function formatPercent(ratio) {
  return ratio === null || ratio === undefined
    ? "–"
    : formatNumber(ratio, { style: "percent", maximumFractionDigits: 1 });
}
