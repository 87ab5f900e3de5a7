"""The block structure of HCL files: which names are attributes and which are blocks.

python-hcl2's dialects (its own and checkov's fork, which installs over it) both turn a
block and a map- or list-valued attribute into similar lists, so a check of "is this a
block or an argument?" cannot trust them. This scanner reads only the structure: a body
is a sequence of `name = expression` attributes and `type "label"... { body }` blocks.
Expressions are skipped, with strings, `${...}` templates, heredocs and comments
understood well enough to find where each one ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_HEREDOC = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_]*)\n")
_CLOSERS = {"(": ")", "[": "]", "{": "}"}


class HclSyntaxError(ValueError):
    pass


@dataclass
class Attribute:
    name: str
    line: int


@dataclass
class Block:
    type: str
    labels: list[str]
    line: int
    body: list[Attribute | Block] = field(default_factory=list)

    def attributes(self) -> dict[str, Attribute]:
        return {item.name: item for item in self.body if isinstance(item, Attribute)}

    def blocks(self, type_: str | None = None) -> list[Block]:
        return [
            item
            for item in self.body
            if isinstance(item, Block) and (type_ is None or item.type == type_)
        ]


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    @property
    def line(self) -> int:
        return self.text.count("\n", 0, self.pos) + 1

    def peek(self, length: int = 1) -> str:
        return self.text[self.pos : self.pos + length]

    def skip_space(self, newlines: bool = True) -> None:
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t\r" or (newlines and char == "\n"):
                self.pos += 1
            elif char == "#" or self.peek(2) == "//":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            elif self.peek(2) == "/*":
                end = self.text.find("*/", self.pos + 2)
                if end < 0:
                    raise HclSyntaxError(f"line {self.line}: unclosed comment")
                self.pos = end + 2
            else:
                return

    def body(self, closing: str | None) -> list[Attribute | Block]:
        items: list[Attribute | Block] = []
        while True:
            self.skip_space()
            if self.pos >= len(self.text):
                if closing is not None:
                    raise HclSyntaxError("unexpected end of file inside a block")
                return items
            if closing is not None and self.peek() == closing:
                self.pos += 1
                return items
            line = self.line
            match = _IDENT.match(self.text, self.pos)
            if match is None:
                raise HclSyntaxError(f"line {line}: expected a name, found {self.peek(20)!r}")
            name = match.group()
            self.pos = match.end()
            self.skip_space(newlines=False)
            if self.peek() == "=" and self.peek(2) != "==":
                self.pos += 1
                self.expression()
                items.append(Attribute(name, line))
                continue
            labels: list[str] = []
            while self.peek() != "{":
                if self.peek() == '"':
                    start = self.pos
                    self.string()
                    labels.append(self.text[start + 1 : self.pos - 1])
                else:
                    label = _IDENT.match(self.text, self.pos)
                    if label is None:
                        raise HclSyntaxError(f"line {line}: bad block header for {name!r}")
                    labels.append(label.group())
                    self.pos = label.end()
                self.skip_space(newlines=False)
            self.pos += 1
            items.append(Block(name, labels, line, self.body("}")))

    def expression(self) -> None:
        """Skip one attribute's expression: up to a newline outside any brackets."""
        depth: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\n" and not depth:
                return
            if char == "}" and not depth:
                return  # a one-line block `x { a = 1 }`
            if char == '"':
                self.string()
                continue
            heredoc = _HEREDOC.match(self.text, self.pos)
            if heredoc:
                self.skip_heredoc(heredoc)
                continue
            if char == "#" or self.peek(2) in ("//", "/*"):
                self.skip_space(newlines=False)
                continue
            if char in _CLOSERS:
                depth.append(_CLOSERS[char])
            elif depth and char == depth[-1]:
                depth.pop()
            self.pos += 1

    def string(self) -> None:
        """Skip a quoted template string, `${...}` and `%{...}` included."""
        self.pos += 1
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\":
                self.pos += 2
            elif char == '"':
                self.pos += 1
                return
            elif self.peek(2) in ("${", "%{") and self.text[self.pos - 1 : self.pos] != "$":
                self.pos += 2
                self.template_expression()
            else:
                self.pos += 1
        raise HclSyntaxError("unclosed string")

    def template_expression(self) -> None:
        depth = 1
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == '"':
                self.string()
                continue
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    self.pos += 1
                    return
            self.pos += 1
        raise HclSyntaxError("unclosed template interpolation")

    def skip_heredoc(self, heredoc: re.Match[str]) -> None:
        marker = heredoc.group(1)
        end = re.compile(rf"^[ \t]*{marker}[ \t]*$", re.MULTILINE).search(self.text, heredoc.end())
        if end is None:
            raise HclSyntaxError(f"unclosed heredoc {marker}")
        self.pos = end.end()


def parse(text: str) -> list[Attribute | Block]:
    return _Scanner(text).body(None)


def top_blocks(path: Path) -> list[Block]:
    return [item for item in parse(path.read_text()) if isinstance(item, Block)]
