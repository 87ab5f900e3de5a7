"""The `agent-platform` command: parse the arguments, run one command, exit with a status.

Exit statuses (errors.Exit): 0 done, 1 the platform refused or failed (or a token is
missing), 2 a usage mistake, 3 the platform cannot be reached, 4 a load test's verdict is
FAIL, 5 a changing ops plan was not confirmed, 130 Ctrl-C. A failure is a sentence on
standard error (`error: ...`), then the platform's field details, if any, one per line.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO
from urllib.parse import urlsplit

from agent_platform_cli import __version__, commands, ops
from agent_platform_cli.chat import chat as chat_command
from agent_platform_cli.client import ApiError, BadAnswer
from agent_platform_cli.config import DEFAULT_BASE_URL, load, normalise
from agent_platform_cli.errors import CliError, Exit, UsageError
from agent_platform_cli.render import Output, one_line

OPERATOR_COMMANDS = {"loadtest", "alerts", "ops"}

EXAMPLES = {
    "": """\
examples:
  agent-platform session new
  agent-platform agents create Helper --persona auto --system-prompt "Answer briefly."
  agent-platform chat Helper
  agent-platform agents list --json | jq '.agents[].id'
  agent-platform --base-url https://agents.example.com session show

exit statuses: 0 done, 1 the platform refused or failed, 2 usage mistake,
3 cannot reach the platform, 4 load-test verdict FAIL, 5 ops change not confirmed,
130 interrupted""",
    "session": """\
examples:
  agent-platform session new     # the token goes to the config file, never to the screen
  agent-platform session show --json
  agent-platform session end""",
    "agents": """\
examples:
  agent-platform agents list
  agent-platform agents create Helper --persona auto --system-prompt "Answer briefly."
  agent-platform agents delete Helper""",
    "agents list": """\
examples:
  agent-platform agents list
  agent-platform agents list --json | jq -r '.agents[] | "\\(.id) \\(.name)"'""",
    "agents create": """\
examples:
  agent-platform agents create Helper
  agent-platform agents create Planner --model offline --persona none \\
      --system-prompt "You plan releases."
  agent-platform agents create Helper --json | jq -r .id""",
    "agents delete": """\
examples:
  agent-platform agents delete agt_b7d4c10873b7de3b35f5747c
  agent-platform agents delete Helper      # by name, when only one agent has it""",
    "chat": """\
examples:
  agent-platform chat Helper
  agent-platform chat Helper --conversation cnv_6b87b0724e9a906257304be3
  echo "What should we check before Friday's release?" | agent-platform chat Helper
  echo "hello" | agent-platform chat Helper --json    # one JSON event per line

chat commands: /help, /new, /agent NAME|ID, /quit (and //text sends "/text").
Ctrl-C stops an answer and the chat goes on; Ctrl-D ends it.""",
    "route": """\
examples:
  agent-platform route "Our p95 latency doubled since Tuesday. Which metric moved first?"
  agent-platform route "내일 발표가 너무 떨려요" --json | jq -r .persona""",
    "loadtest": """\
examples:
  agent-platform loadtest run --scenario light --duration 3
  agent-platform loadtest list --scenario light""",
    "loadtest run": """\
examples:
  agent-platform loadtest run --scenario light --duration 3
  agent-platform loadtest run --json > run.json || echo "verdict FAIL or error: $?"

exits with 4 when the run's SLO verdict is FAIL.""",
    "loadtest list": """\
examples:
  agent-platform loadtest list
  agent-platform loadtest list --scenario spike --limit 5 --json""",
    "alerts": """\
examples:
  agent-platform alerts list --status firing""",
    "alerts list": """\
examples:
  agent-platform alerts list
  agent-platform alerts list --status firing --json | jq '.alerts | length'""",
    "ops": """\
examples:
  agent-platform ops "how is chat doing"
  agent-platform ops "에이전트 함수 로그 보여줘"
  agent-platform ops "restart the webhook"          # shows the plan, then asks: Run it? [y/N]
  agent-platform ops "채팅 최소 인스턴스 2로" --yes    # a script confirms with --yes
  agent-platform ops --confirm opc_0123456789abcdef01234567
  agent-platform ops "what changed in the last 6 hours" --json | jq .result

a plan that only reads runs at once; a change runs once confirmed (exit 5 when it is not).""",
    "operator": """\
examples:
  agent-platform operator set                     # prompts; the token is not echoed
  echo "$ADMIN_TOKEN" | agent-platform operator set
  agent-platform operator clear""",
}


class _Builder:
    """Adds commands that all take the common options and show their examples."""

    def __init__(self, common: argparse.ArgumentParser) -> None:
        self.common = common

    def group(self, parent: argparse.ArgumentParser, dest: str) -> argparse._SubParsersAction:
        metavar = "COMMAND" if dest == "group" else "ACTION"
        return parent.add_subparsers(dest=dest, metavar=metavar)

    def add(
        self,
        group: argparse._SubParsersAction,
        name: str,
        text: str,
        examples: str,
        run: Callable[..., int] | None = None,
    ) -> argparse.ArgumentParser:
        made: argparse.ArgumentParser = group.add_parser(
            name,
            help=text,
            description=text,
            parents=[self.common],
            epilog=EXAMPLES.get(examples),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        made.set_defaults(show_help=made.print_help)
        if run is not None:
            made.set_defaults(run=run)
        return made


def _guest_commands(cli: _Builder, groups: argparse._SubParsersAction) -> None:
    session = cli.group(
        cli.add(groups, "session", "start, show or end your guest session", "session"), "action"
    )
    cli.add(
        session, "new", "start a guest session and keep its token", "session", commands.session_new
    )
    cli.add(session, "show", "the current session and its expiry", "session", commands.session_show)
    cli.add(
        session, "end", "revoke the session and forget its token", "session", commands.session_end
    )

    agents = cli.group(
        cli.add(groups, "agents", "list, create or delete your agents", "agents"), "action"
    )
    cli.add(
        agents, "list", "your agents with their run statistics", "agents list", commands.agents_list
    )
    create = cli.add(agents, "create", "create an agent", "agents create", commands.agents_create)
    create.add_argument("name", help="1-100 characters")
    create.add_argument("--system-prompt", help="what the agent is told before every chat")
    create.add_argument("--model", default="claude-sonnet-4-6", help="a Claude model or offline")
    create.add_argument("--persona", help="auto, none, or a persona name (Lua, Elro, Riri, Nana)")
    delete = cli.add(
        agents,
        "delete",
        "delete an agent and its conversations",
        "agents delete",
        commands.agents_delete,
    )
    delete.add_argument("agent", help="the agent's id, or its name when unique")

    chat = cli.add(
        groups,
        "chat",
        "chat with an agent; answers stream as they are written",
        "chat",
        chat_command,
    )
    chat.add_argument("agent", help="the agent's id, or its name when unique")
    chat.add_argument("--conversation", help="continue this conversation instead of a new one")

    route = cli.add(
        groups, "route", "which persona would answer a message, and why", "route", commands.route
    )
    route.add_argument("message")


def _operator_commands(cli: _Builder, groups: argparse._SubParsersAction) -> None:
    scenarios = sorted(commands.SCENARIO_SECONDS)
    loadtest = cli.group(
        cli.add(
            groups, "loadtest", "run load tests and list their results (operators)", "loadtest"
        ),
        "action",
    )
    run = cli.add(
        loadtest,
        "run",
        "run a scenario now and show its percentiles",
        "loadtest run",
        commands.loadtest_run,
    )
    run.add_argument("--scenario", choices=scenarios, default="light")
    run.add_argument("--duration", type=float, help="seconds (default: the scenario's)")
    runs = cli.add(
        loadtest, "list", "the latest runs, newest first", "loadtest list", commands.loadtest_list
    )
    runs.add_argument("--scenario", choices=scenarios)
    runs.add_argument("--limit", type=int, default=20)

    command = cli.add(
        groups,
        "ops",
        "ask the platform in plain words: status, logs, restart, scale, roll back (operators)",
        "ops",
        ops.ops,
    )
    command.add_argument("text", nargs="?", help="what to do, in English or Korean")
    command.add_argument("--yes", action="store_true", help="run a changing plan without asking")
    command.add_argument("--confirm", metavar="ID", help="run a planned command (opc_...)")

    alerts = cli.group(cli.add(groups, "alerts", "platform alerts (operators)", "alerts"), "action")
    listing = cli.add(
        alerts, "list", "alerts, most recently seen first", "alerts list", commands.alerts_list
    )
    listing.add_argument("--status", choices=["firing", "resolved"])
    listing.add_argument("--limit", type=int, default=50)

    operator = cli.group(
        cli.add(groups, "operator", "keep or forget the operator token", "operator"), "action"
    )
    cli.add(
        operator,
        "set",
        "read the token from a prompt or standard input",
        "operator",
        commands.operator_set,
    )
    cli.add(operator, "clear", "forget the operator token", "operator", commands.operator_clear)


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: an option given before the command is not reset by the command's parser.
    common.add_argument(
        "--base-url",
        default=argparse.SUPPRESS,
        help="the platform's URL (default: $AGENT_PLATFORM_URL or the local stack, "
        f"{DEFAULT_BASE_URL})",
    )
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print what the API answered as JSON on standard output (errors too)",
    )
    root = argparse.ArgumentParser(
        prog="agent-platform",
        description="Talk to an agent platform (local or deployed) through its public API.",
        parents=[common],
        epilog=EXAMPLES[""],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    root.add_argument("--version", action="version", version=f"agent-platform {__version__}")
    root.set_defaults(show_help=root.print_help)
    cli = _Builder(common)
    groups = cli.group(root, "group")
    _guest_commands(cli, groups)
    _operator_commands(cli, groups)
    return root


def hint(error: CliError, group: str | None) -> str | None:
    """What to do next, when the error says it."""
    if isinstance(error, BadAnswer) and error.code == "bad_answer":
        return "is --base-url (or AGENT_PLATFORM_URL) this platform's API?"
    if not isinstance(error, ApiError) or error.status is None:
        return None
    if error.status == 401 and group in OPERATOR_COMMANDS:
        return "check the token with 'agent-platform operator set'"
    if error.status == 401:
        return "start a new session with 'agent-platform session new'"
    if error.status == 404 and group in ("agents", "chat"):
        return "'agent-platform agents list' shows your agents"
    if error.status >= 500 and error.request_id:
        return "the platform's logs name this failure by its request id"
    return None


def _detail_line(detail: Any) -> str:
    if isinstance(detail, dict) and "issue" in detail:
        field = detail.get("field")
        return f"{field}: {detail['issue']}" if field else str(detail["issue"])
    return str(detail)


def report(error: CliError, group: str | None, err: Output) -> None:
    """`error: <sentence>; <hint>` on one line, then the platform's details, one a line."""
    advice = hint(error, group)
    err.write("error: ", "error")
    err.line(one_line(str(error)) + (f"; {advice}" if advice else ""))
    for detail in getattr(error, "details", [])[:20]:
        err.line(f"  {one_line(_detail_line(detail))[:300]}")


def _base_url(args: argparse.Namespace) -> str:
    base_url = normalise(
        getattr(args, "base_url", None) or os.environ.get("AGENT_PLATFORM_URL") or DEFAULT_BASE_URL
    )
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"the base URL must be http(s)://host[:port], not {base_url!r}")
    return base_url


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    out, err = Output(stdout or sys.stdout), Output(stderr or sys.stderr)
    root = parser()
    if not argv:
        root.print_help(out.stream)
        return Exit.OK
    args = root.parse_args(argv)  # a usage mistake exits 2 here, as argparse does
    if not hasattr(args, "run"):  # a command group alone: its help
        args.show_help(out.stream)
        return Exit.OK
    json_mode = bool(getattr(args, "json", False))
    try:
        context = commands.Context(
            _base_url(args), load(), out, err, stdin or sys.stdin, json=json_mode
        )
        status: int = args.run(args, context)
    except CliError as exc:
        if json_mode:
            out.json(exc.as_json())
        report(exc, args.group, err)
        return exc.exit_status
    except KeyboardInterrupt:
        err.line("\ninterrupted")
        return Exit.INTERRUPTED
    return status


def run() -> None:
    """The console script's entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
