"""`agent-platform chat`: messages typed or piped, answers printed as they stream.

At a terminal, lines are read with readline (arrow keys edit, Up recalls earlier lines)
and kept in `chat_history` in the config folder, mode 0600; a line that starts with a
space is not kept. Lines that start with `/` are chat commands and never reach the model
(`//` sends a message that starts with `/`). Ctrl-C while an answer is written asks the
platform to stop it (`POST .../messages/{id}/cancel`; a platform without that route only
sees the stream close) and the chat goes on; Ctrl-D or /quit ends it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path
from types import ModuleType
from typing import Any

from agent_platform_cli import answers
from agent_platform_cli.answers import read
from agent_platform_cli.client import ApiError, PlatformClient, path_part
from agent_platform_cli.commands import Context, find_agent
from agent_platform_cli.errors import CommandError, Exit

HISTORY_FILE = "chat_history"
HISTORY_LENGTH = 1000

CHAT_HELP = """\
Chat commands (never sent to the model):
  /help              this list
  /new               start a new conversation with the same agent
  /agent NAME|ID     chat with another agent, in a new conversation
  /quit              end the chat (so does Ctrl-D)
  //text             send a message that starts with '/'
Ctrl-C stops an answer being written; the chat goes on."""


class LineReader:
    """The next line from a person at a terminal (readline, with history) or from a pipe."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.interactive = ctx.stdin.isatty()
        self.history: Path | None = None
        self.readline: ModuleType | None = None
        if self.interactive and ctx.out.isatty():  # input() edits lines only then
            self._start_readline(ctx.config.ensure_folder() / HISTORY_FILE)

    def _start_readline(self, history: Path) -> None:
        try:
            import readline
        except ImportError:  # a Python without readline: lines are read as typed
            return
        readline.set_auto_history(False)
        self.readline = readline
        try:
            # Created 0600 before readline writes to it; an existing file is set to 0600,
            # and a link is refused (O_NOFOLLOW): then the chat keeps no history.
            descriptor = os.open(
                history, os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600
            )
            os.fchmod(descriptor, 0o600)
            os.close(descriptor)
            readline.read_history_file(history)
        except OSError as exc:
            self.ctx.note(f"(no chat history: {exc.strerror or exc})")
            return
        readline.set_history_length(HISTORY_LENGTH)
        self.history = history

    def read(self, prompt: str) -> str | None:
        """The next line without its newline, or None at end of input."""
        if not self.interactive:
            line = self.ctx.stdin.readline()
            return None if line == "" else line.rstrip("\n")
        if self.ctx.json:
            prompt = ""  # standard output holds JSON lines only
        try:
            line = input(self.ctx.out.style(prompt, "prompt", prompt=True))
        except EOFError:
            self.ctx.out.write("\n")
            return None
        if self.readline is not None and line.strip() and not line.startswith(" "):
            self.readline.add_history(line)
        return line

    def close(self) -> None:
        if self.readline is not None and self.history is not None:
            with contextlib.suppress(OSError):  # a history not kept is no reason to fail
                self.readline.write_history_file(self.history)
                os.chmod(self.history, 0o600)


class Chat:
    """One chat: the agent and conversation it is in, and what each line does."""

    def __init__(self, client: PlatformClient, ctx: Context) -> None:
        self.client = client
        self.ctx = ctx
        self.agent: answers.Agent | None = None
        self.conversation_id = ""

    def start(self, wanted: str, conversation_id: str | None = None) -> None:
        """Chat with the agent `wanted` (id or unique name), in a new conversation unless
        `conversation_id` names one."""
        agent = answers.Agent.model_validate(find_agent(self.client, wanted))
        if conversation_id is None:
            raw = self.client.request("POST", "/v1/conversations", body={"agentId": agent.id})
            conversation_id = read(answers.Conversation, raw, "POST /v1/conversations").id
            if self.ctx.json:
                self.ctx.out.json({"event": "conversation", "data": raw}, compact=True)
        self.agent, self.conversation_id = agent, conversation_id
        self.ctx.note(
            f"Chatting with {agent.name} (conversation {conversation_id}). /help lists the "
            "chat commands; Ctrl-C stops an answer; Ctrl-D or /quit ends the chat."
        )

    def run(self, reader: LineReader) -> int:
        while True:
            try:
                line = reader.read("you> ")
            except KeyboardInterrupt:
                self.ctx.out.write("\n")
                return Exit.INTERRUPTED
            if line is None:
                return Exit.OK
            text = line.strip()
            if not text:
                continue
            if text.startswith("/") and not text.startswith("//"):
                if not self.command(text):
                    return Exit.OK
                continue
            try:
                self.answer(text[1:] if text.startswith("//") else line)
            except ApiError as exc:
                if exc.status in (401, 404):
                    raise
                self.report(exc)  # a 429, a 503, a cut stream: the chat goes on

    def report(self, error: Exception) -> None:
        if self.ctx.json and isinstance(error, ApiError):
            self.ctx.out.json(error.as_json(), compact=True)
        self.ctx.err.write("error: ", "error")
        self.ctx.err.line(str(error))

    def command(self, text: str) -> bool:
        """Run a chat command; False when the chat should end."""
        name, _, argument = text.partition(" ")
        argument = argument.strip()
        if name in ("/quit", "/exit"):
            return False
        if name in ("/help", "/?"):
            self.ctx.err.line(CHAT_HELP)
        elif name == "/new":
            self._switch(self.agent.id if self.agent else "")
        elif name == "/agent":
            if not argument:
                self.ctx.err.line("/agent needs a name or an id: /agent Helper")
            else:
                self._switch(argument)
        else:
            self.ctx.err.line(
                f"unknown chat command {name}: /help lists them "
                "(start with // to send a message that begins with /)"
            )
        return True

    def _switch(self, wanted: str) -> None:
        try:
            self.start(wanted)
        except (ApiError, CommandError) as exc:
            self.report(exc)  # the chat goes on where it was

    def answer(self, text: str) -> None:
        """Send `text` and print the answer as it streams; Ctrl-C stops this answer only."""
        path = f"/v1/conversations/{path_part(self.conversation_id)}/messages"
        events = self.client.stream_events(path, {"content": text})
        out, json_mode = self.ctx.out, self.ctx.json
        message_id: str | None = None
        started = False
        try:
            for name, data in events:
                if json_mode:
                    out.json({"event": name, "data": data}, compact=True)
                if name == "message.created":
                    created = read(answers.MessageCreated, data, "the message.created event")
                    message_id = created.assistant_message.id
                    if not json_mode:
                        out.write(self._label(created.assistant_message) + "> ", "label")
                        started = True
                elif name == "done":
                    break
                elif not json_mode:
                    self._show(name, data)
        except KeyboardInterrupt:
            if message_id is not None:
                self._cancel(message_id)
            out.write(("\n" if started else "") + "[stopped]\n")
        finally:
            events.close()  # type: ignore[attr-defined]

    @staticmethod
    def _label(answer: answers.AnswerMessage) -> str:
        if not answer.persona:
            return "assistant"
        confidence = "-" if answer.confidence is None else f"{answer.confidence:.1%}"
        return f"assistant [{answer.persona} {confidence}]"

    def _show(self, name: str, data: dict[str, Any]) -> None:
        out, err = self.ctx.out, self.ctx.err
        if name == "message.delta":
            out.write(read(answers.MessageDelta, data, "a message.delta event").text)
        elif name == "message.completed":
            usage = read(answers.MessageCompleted, data, "the message.completed event").usage
            out.write("\n")
            self.ctx.note(f"({usage.input_tokens} tokens in, {usage.output_tokens} out)")
        elif name == "error":
            failure = read(answers.StreamError, data, "the error event")
            out.write("\n")
            err.write("error: ", "error")
            err.line(str(ApiError(failure.message, retry_after=failure.retry_after)))

    def _cancel(self, message_id: str) -> None:
        """Ask the platform to stop the answer; silent when it cannot (the stream is
        closed right after either way). A second Ctrl-C skips the wait."""
        with contextlib.suppress(KeyboardInterrupt):
            self.client.cancel(self.conversation_id, message_id)


def chat(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.guest() as client:
        session = Chat(client, ctx)
        session.start(args.agent, args.conversation)
        reader = LineReader(ctx)
        try:
            return session.run(reader)
        finally:
            reader.close()
