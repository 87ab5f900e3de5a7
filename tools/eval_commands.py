"""Evaluate ops-command planning on a labelled set: `make eval-commands [--set PATH]`.

Each row names the tool its command must map to (`"tool": null`: a command no tool may
run, a distractor, a negation or an impossible request) and the arguments it must carry:
`{"id", "text", "lang", "kind", "tool", "arguments"}`, argument names in snake_case
(the older set's camelCase and its `split` are read too). The planner runs as
`POST /v1/ops/commands` runs it: Claude with a key, the deterministic reader without one.

What is counted, per language, per kind (plain or hard), per split and per tool:
- tool accuracy: the right tool, or no plan for a row that expects none;
- tool+arguments accuracy: that, and the arguments right. The labelled arguments must
  match exactly once validated; every argument the row leaves out must equal the tool's
  default; free text (`comment`) is not compared;
- opposite action planned: a changing tool planned where the row expects another
  changing tool or none (silencing what was to be unsilenced, acting on "don't");
- wrong changing plans: the share of changing plans that are not exactly right (each
  would run, after one confirmation, something the operator did not ask for).

`--floor-tool-arguments` and `--floor-right-changing` make it exit 1 below a floor.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.core import errors
from shared.llm.budget import Unmetered
from shared.ops import planner
from shared.tools import registry
from shared.tools.registry import Caller

DEFAULT_SET = Path(__file__).resolve().parent.parent / "tests/data/ops/commands.jsonl"
NONE = "(none)"
# Free text a plan may word as it likes.
UNCOMPARED = frozenset({"comment"})
OPERATOR = Caller(operator=True)


@dataclass
class Sample:
    id: str
    text: str
    lang: str
    tool: str | None
    arguments: dict[str, Any] | None
    kind: str | None = None
    split: str | None = None
    why: str | None = None  # the writer's note on a row no tool fits


@dataclass
class Result:
    sample: Sample
    tool: str | None
    arguments: dict[str, Any] | None
    reason: str | None = None

    @property
    def tool_right(self) -> bool:
        return self.tool == self.sample.tool

    @property
    def arguments_right(self) -> bool:
        if not self.tool_right:
            return False
        if self.sample.tool is None:
            return True
        return comparable(self.tool, self.arguments) == comparable(
            self.sample.tool, self.sample.arguments
        )

    @property
    def changing(self) -> bool:
        """A changing tool was planned."""
        return self.tool is not None and _changes(self.tool)

    @property
    def opposite(self) -> bool:
        """A changing tool planned where the row expects another changing tool, or none."""
        if not self.changing or self.tool_right:
            return False
        return self.sample.tool is None or _changes(self.sample.tool)


def _changes(name: str) -> bool:
    return registry.find(OPERATOR, name).changes


def comparable(tool: str | None, arguments: dict[str, Any] | None) -> dict[str, Any] | None:
    """The arguments once validated, every default filled, by field name, free text left
    out; None when they are not valid for the tool (they can then match nothing)."""
    if tool is None:
        return None
    try:
        model = registry.validate(registry.find(OPERATOR, tool), arguments or {})
    except errors.InvalidRequest:
        return None
    return {k: v for k, v in model.model_dump(mode="json").items() if k not in UNCOMPARED}


def load_samples(path: Path = DEFAULT_SET) -> list[Sample]:
    lines = path.read_text("utf-8").splitlines()
    samples = [Sample(**json.loads(line)) for line in lines if line.strip()]
    for sample in samples:
        if sample.tool is not None and comparable(sample.tool, sample.arguments) is None:
            raise ValueError(f"{path.name} {sample.id}: its arguments are not valid")
    return samples


def evaluate(path: Path = DEFAULT_SET) -> list[Result]:
    results = []
    for sample in load_samples(path):
        planned = planner.plan(sample.text, Unmetered())
        plan = planned.plan
        results.append(
            Result(
                sample,
                plan.tool if plan else None,
                plan.arguments if plan else None,
                planned.reason,
            )
        )
    return results


def accuracy(results: list[Result], *, arguments: bool = False) -> float:
    """Tool accuracy, or (`arguments`) tool+arguments accuracy, over every row."""
    if not results:
        return float("nan")
    right = [r.arguments_right if arguments else r.tool_right for r in results]
    return sum(right) / len(results)


def wrong_changing_share(results: list[Result]) -> float:
    """Of the changing plans made, the share not exactly right; 0 when none was made."""
    changing = [r for r in results if r.changing]
    return sum(not r.arguments_right for r in changing) / len(changing) if changing else 0.0


def _pct(value: float) -> str:
    return "  n/a" if math.isnan(value) else f"{value:6.1%}"


def _groups(
    results: list[Result], key: Callable[[Result], str | None]
) -> list[tuple[str, list[Result]]]:
    values = sorted({v for r in results if (v := key(r)) is not None})
    return [(value, [r for r in results if key(r) == value]) for value in values]


def _table(title: str, groups: Iterable[tuple[str, list[Result]]]) -> list[str]:
    rows = list(groups)
    if not rows:
        return []
    out = [f"by {title}:", f"  {'':<22} {'n':>4} {'tool':>7} {'tool+args':>10}"]
    for name, group in rows:
        out.append(
            f"  {name:<22} {len(group):>4} {_pct(accuracy(group)):>7} "
            f"{_pct(accuracy(group, arguments=True)):>10}"
        )
    return out


def _confusion(results: list[Result]) -> list[str]:
    names = [t.name for t in registry.all_tools()] + [NONE]
    short = {name: f"{i}" for i, name in enumerate(names)}
    counts = Counter((r.sample.tool or NONE, r.tool or NONE) for r in results)
    out = ["confusion (rows: expected, columns: planned):"]
    out.append("  " + " " * 24 + "".join(f"{short[n]:>5}" for n in names))
    for expected in names:
        cells = [counts.get((expected, planned), 0) for planned in names]
        if not any(cells) and not any(counts.get((p, expected), 0) for p in names):
            continue
        shown = "".join(f"{c or '.':>5}" for c in cells)
        out.append(f"  {short[expected]:>2} {expected:<21}{shown}")
    return out


def render(results: list[Result], show_misses: bool, label: str = "") -> str:
    expecting_none = [r for r in results if r.sample.tool is None]
    changing = [r for r in results if r.changing]
    opposite = sum(r.opposite for r in results)
    out = [
        f"ops-command planning on {len(results)} labelled commands{label} "
        f"({len(expecting_none)} that must map to no tool)",
        f"tool accuracy:           {_pct(accuracy(results))}",
        f"tool+arguments accuracy: {_pct(accuracy(results, arguments=True))}",
        f"opposite action planned: {opposite}",
        f"wrong changing plans:    {_pct(wrong_changing_share(results))} "
        f"({sum(not r.arguments_right for r in changing)} of {len(changing)} changing plans)",
        f"no plan where none was expected: "
        f"{sum(r.tool is None for r in expecting_none)}/{len(expecting_none)}",
        "",
    ]
    out += _table("language", _groups(results, lambda r: r.sample.lang))
    out += _table("kind", _groups(results, lambda r: r.sample.kind))
    out += _table("split", _groups(results, lambda r: r.sample.split))
    out += _table("expected tool", _groups(results, lambda r: r.sample.tool or NONE))
    out += ["", *_confusion(results)]
    if show_misses:
        out.append("")
        for r in results:
            if not r.arguments_right:
                out.append(
                    f"  {r.sample.id} {r.sample.text!r}: want {r.sample.tool} "
                    f"{r.sample.arguments}, got {r.tool} {r.arguments}"
                    + (f" ({r.reason})" if r.reason and r.tool is None else "")
                )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET, help="a JSON-lines set")
    parser.add_argument("--misses", action="store_true", help="list every miss")
    parser.add_argument(
        "--floor-tool-arguments",
        type=float,
        default=None,
        metavar="FRACTION",
        help="exit 1 when tool+arguments accuracy is below it",
    )
    parser.add_argument(
        "--floor-right-changing",
        type=float,
        default=None,
        metavar="FRACTION",
        help="exit 1 when the share of changing plans that are exactly right (1 - wrong "
        "changing plans) is below it",
    )
    args = parser.parse_args(argv)
    results = evaluate(args.set)
    print(render(results, args.misses, f" from {args.set.name}"))
    failed = []
    if args.floor_tool_arguments is not None:
        reached, floor = accuracy(results, arguments=True), args.floor_tool_arguments
        if not reached >= floor:
            failed.append(f"tool+arguments accuracy {reached:.1%} < {floor:.1%}")
    if args.floor_right_changing is not None:
        right = 1 - wrong_changing_share(results)
        if right < args.floor_right_changing:
            failed.append(f"right changing plans {right:.1%} < {args.floor_right_changing:.1%}")
    for failure in failed:
        print(f"below the floor: {failure}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
