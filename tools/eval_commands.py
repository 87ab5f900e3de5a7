"""Evaluate ops-command planning on the labelled set: `make eval-commands`.

Each command names the tool it must map to (or none: distractors must map to no tool)
and the arguments it must carry. Tool accuracy counts the right tool (or, for a
distractor, no tool); argument accuracy counts, among commands that name a tool and got
it, arguments equal to the labelled ones once both are validated (defaults filled). The
planner runs as `POST /v1/ops/commands` runs it: Claude with a key, the deterministic
reader without one.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.llm.budget import Unmetered
from shared.ops import planner
from shared.tools import registry
from shared.tools.registry import Caller

DEFAULT_SET = Path(__file__).resolve().parent.parent / "tests/data/ops/commands.jsonl"


@dataclass
class Sample:
    id: str
    text: str
    lang: str
    tool: str | None
    arguments: dict[str, Any] | None
    split: str


@dataclass
class Result:
    sample: Sample
    tool: str | None
    arguments: dict[str, Any] | None

    @property
    def tool_right(self) -> bool:
        return self.tool == self.sample.tool

    @property
    def arguments_right(self) -> bool:
        return self.tool_right and self.arguments == _filled(
            self.sample.tool, self.sample.arguments
        )


def _filled(tool: str | None, arguments: dict[str, Any] | None) -> dict[str, Any] | None:
    if tool is None:
        return None
    found = registry.find(Caller(operator=True), tool)
    model = registry.validate(found, arguments or {})
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def load_samples(path: Path = DEFAULT_SET) -> list[Sample]:
    lines = path.read_text("utf-8").splitlines()
    return [Sample(**json.loads(line)) for line in lines if line.strip()]


def evaluate(path: Path = DEFAULT_SET) -> list[Result]:
    results = []
    for sample in load_samples(path):
        planned = planner.plan(sample.text, Unmetered()).plan
        results.append(
            Result(
                sample, planned.tool if planned else None, planned.arguments if planned else None
            )
        )
    return results


def accuracy(results: list[Result], *, arguments: bool = False) -> float:
    if arguments:
        results = [r for r in results if r.sample.tool is not None and r.tool_right]
        return sum(r.arguments_right for r in results) / len(results) if results else float("nan")
    return sum(r.tool_right for r in results) / len(results) if results else float("nan")


def render(results: list[Result], show_misses: bool) -> str:
    distractors = [r for r in results if r.sample.tool is None]
    out = [
        f"ops-command planning on {len(results)} labelled commands "
        f"({len(distractors)} distractors that must map to no tool)",
        f"tool accuracy:     {accuracy(results):.1%}",
        f"argument accuracy: {accuracy(results, arguments=True):.1%} "
        "(commands with a tool, where the tool was right)",
    ]
    for attr, values in (("lang", ("en", "ko")), ("split", ("dev", "holdout", "fresh"))):
        parts = []
        for value in values:
            group = [r for r in results if getattr(r.sample, attr) == value]
            parts.append(
                f"{value} tool {accuracy(group):.1%} / args "
                f"{accuracy(group, arguments=True):.1%} (n={len(group)})"
            )
        out.append(f"  by {attr}: " + "; ".join(parts))
    rejected = sum(r.tool is None for r in distractors)
    out.append(f"  distractors mapped to no tool: {rejected}/{len(distractors)}")
    if show_misses:
        out.append("")
        for r in results:
            if not r.arguments_right and not (r.sample.tool is None and r.tool is None):
                out.append(
                    f"  {r.sample.id} {r.sample.text!r}: want {r.sample.tool} "
                    f"{r.sample.arguments}, got {r.tool} {r.arguments}"
                )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET)
    parser.add_argument("--misses", action="store_true", help="list every miss")
    parser.add_argument("--min-accuracy", type=float, default=0.9)
    args = parser.parse_args(argv)
    results = evaluate(args.set)
    print(render(results, args.misses))
    worst = min(accuracy(results), accuracy(results, arguments=True))
    return 0 if worst >= args.min_accuracy else 1


if __name__ == "__main__":
    sys.exit(main())
