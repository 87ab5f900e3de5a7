"""The `agent-platform` command: parse the arguments, run one command, exit with a status.

Exit statuses: 0 done, 1 an error (one line on stderr), 2 a usage mistake, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from agent_platform_cli import commands
from agent_platform_cli.client import ApiError
from agent_platform_cli.config import DEFAULT_BASE_URL, ConfigError, load, normalise

OPERATOR_COMMANDS = {"loadtest", "alerts"}


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--base-url",
        default=argparse.SUPPRESS,
        help="the platform's URL (default: $AGENT_PLATFORM_URL or the local stack, "
        f"{DEFAULT_BASE_URL})",
    )
    root = argparse.ArgumentParser(
        prog="agent-platform",
        description="Talk to an agent platform (local or deployed) through its public API.",
        parents=[common],
    )
    groups = root.add_subparsers(dest="group", required=True, metavar="COMMAND")

    def command(group: argparse._SubParsersAction, name: str, text: str) -> argparse.ArgumentParser:
        return group.add_parser(name, help=text, description=text, parents=[common])

    session = command(groups, "session", "start, show or end your guest session")
    session_commands = session.add_subparsers(dest="action", required=True, metavar="ACTION")
    command(session_commands, "new", "start a guest session and keep its token").set_defaults(
        run=commands.session_new
    )
    command(session_commands, "show", "the current session and its expiry").set_defaults(
        run=commands.session_show
    )
    command(session_commands, "end", "revoke the session and forget its token").set_defaults(
        run=commands.session_end
    )

    agents = command(groups, "agents", "list, create or delete your agents")
    agent_commands = agents.add_subparsers(dest="action", required=True, metavar="ACTION")
    command(agent_commands, "list", "your agents with their run statistics").set_defaults(
        run=commands.agents_list
    )
    create = command(agent_commands, "create", "create an agent")
    create.add_argument("name", help="1-100 characters")
    create.add_argument("--system-prompt", help="what the agent is told before every chat")
    create.add_argument("--model", default="claude-sonnet-4-6", help="a Claude model or offline")
    create.add_argument("--persona", help="auto, none, or a persona name (Lua, Elro, Riri, Nana)")
    create.set_defaults(run=commands.agents_create)
    delete = command(agent_commands, "delete", "delete an agent and its conversations")
    delete.add_argument("agent", help="the agent's id, or its name when unique")
    delete.set_defaults(run=commands.agents_delete)

    chat = command(groups, "chat", "chat with an agent; answers stream as they are written")
    chat.add_argument("agent", help="the agent's id, or its name when unique")
    chat.add_argument("--conversation", help="continue this conversation instead of a new one")
    chat.set_defaults(run=commands.chat)

    route = command(groups, "route", "which persona would answer a message, and why")
    route.add_argument("message")
    route.set_defaults(run=commands.route)

    loadtest = command(groups, "loadtest", "run load tests and list their results (operators)")
    loadtest_commands = loadtest.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = command(loadtest_commands, "run", "run a scenario now and show its percentiles")
    run.add_argument("--scenario", choices=sorted(commands.SCENARIO_SECONDS), default="light")
    run.add_argument("--duration", type=float, help="seconds (default: the scenario's)")
    run.set_defaults(run=commands.loadtest_run)
    runs = command(loadtest_commands, "list", "the latest runs, newest first")
    runs.add_argument("--scenario", choices=sorted(commands.SCENARIO_SECONDS))
    runs.add_argument("--limit", type=int, default=20)
    runs.set_defaults(run=commands.loadtest_list)

    alerts = command(groups, "alerts", "platform alerts (operators)")
    alert_commands = alerts.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = command(alert_commands, "list", "alerts, most recently seen first")
    listing.add_argument("--status", choices=["firing", "resolved"])
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(run=commands.alerts_list)

    operator = command(groups, "operator", "keep or forget the operator token")
    operator_commands = operator.add_subparsers(dest="action", required=True, metavar="ACTION")
    command(
        operator_commands, "set", "read the token from a prompt or standard input"
    ).set_defaults(run=commands.operator_set)
    command(operator_commands, "clear", "forget the operator token").set_defaults(
        run=commands.operator_clear
    )
    return root


def _hint(error: ApiError, group: str) -> str:
    if error.status == 401 and group in OPERATOR_COMMANDS:
        return "; check the token with 'agent-platform operator set'"
    if error.status == 401:
        return "; start a new session with 'agent-platform session new'"
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    base_url = normalise(
        getattr(args, "base_url", None) or os.environ.get("AGENT_PLATFORM_URL") or DEFAULT_BASE_URL
    )
    try:
        context = commands.Context(base_url, load(), sys.stdout, sys.stderr, sys.stdin)
        status: int = args.run(args, context)
    except ApiError as exc:
        sys.stderr.write(f"error: {exc}{_hint(exc, args.group)}\n")
        return 1
    except (commands.CommandError, ConfigError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        return commands.INTERRUPTED
    return status


def run() -> None:
    """The console script's entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
