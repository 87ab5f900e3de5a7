"""Evaluate the persona router on the labelled set: `make eval-personas`.

Prints accuracy (overall, by split, language, length and ambiguity), per-persona
precision and recall, the confusion matrix, and the median routing time per message
(analysis + scoring, measured over 1,000 messages drawn from the set).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shared.personas.routing import persona_names, route_message

DEFAULT_SET = Path(__file__).resolve().parent.parent / "tests/data/personas/eval_set.jsonl"


@dataclass
class Sample:
    id: str
    text: str
    label: str
    lang: str
    length: str
    ambiguous: bool
    split: str


@dataclass
class Report:
    samples: list[Sample]
    predicted: list[str]
    personas: list[str]
    confusion: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return self.accuracy_where(lambda s: True)

    def accuracy_where(self, keep: Callable[[Sample], bool]) -> float:
        pairs = [(s, p) for s, p in zip(self.samples, self.predicted, strict=True) if keep(s)]
        return sum(s.label == p for s, p in pairs) / len(pairs) if pairs else float("nan")

    def count_where(self, keep: Callable[[Sample], bool]) -> int:
        return sum(1 for s in self.samples if keep(s))

    def precision(self, persona: str) -> float:
        chosen = sum(self.confusion[label][persona] for label in self.confusion)
        return self.confusion[persona][persona] / chosen if chosen else float("nan")

    def recall(self, persona: str) -> float:
        total = sum(self.confusion[persona].values())
        return self.confusion[persona][persona] / total if total else float("nan")

    def misses(self) -> list[tuple[Sample, str]]:
        return [(s, p) for s, p in zip(self.samples, self.predicted, strict=True) if s.label != p]


def load_samples(path: Path = DEFAULT_SET) -> list[Sample]:
    lines = path.read_text("utf-8").splitlines()
    return [Sample(**json.loads(line)) for line in lines if line.strip()]


def evaluate(path: Path = DEFAULT_SET) -> Report:
    samples = load_samples(path)
    predicted = [route_message(s.text).persona for s in samples]
    personas = persona_names()
    confusion = {label: Counter[str]() for label in personas}
    for sample, guess in zip(samples, predicted, strict=True):
        confusion.setdefault(sample.label, Counter())[guess] += 1
    return Report(samples, predicted, personas, confusion)


def median_routing_microseconds(texts: list[str], count: int = 1000) -> float:
    """Median wall time of one `route_message` call, over `count` calls cycling the texts."""
    route_message(texts[0])  # warm caches (persona file, compiled patterns)
    timings = []
    for index in range(count):
        text = texts[index % len(texts)]
        started = time.perf_counter_ns()
        route_message(text)
        timings.append(time.perf_counter_ns() - started)
    return statistics.median(timings) / 1000


def render(report: Report, micros: float, show_misses: str | None) -> str:
    out = [f"persona routing on {len(report.samples)} labelled messages"]
    out.append(f"accuracy: {report.accuracy:.1%}")
    groups = [
        ("split", ("dev", "holdout", "fresh")),
        ("lang", ("en", "ko", "mixed")),
        ("length", ("short", "long")),
    ]
    for attr, values in groups:
        parts = []
        for value in values:

            def keep(s: Sample, a: str = attr, v: str = value) -> bool:
                return bool(getattr(s, a) == v)

            parts.append(
                f"{value} {report.accuracy_where(keep):.1%} (n={report.count_where(keep)})"
            )
        out.append(f"  by {attr}: " + ", ".join(parts))
    clear = report.accuracy_where(lambda s: not s.ambiguous)
    vague = report.accuracy_where(lambda s: s.ambiguous)
    out.append(f"  clear {clear:.1%}, ambiguous {vague:.1%}")
    out.append("")
    out.append(f"{'persona':<10}{'precision':>10}{'recall':>8}{'support':>9}")
    for persona in report.personas:
        support = sum(report.confusion[persona].values())
        out.append(
            f"{persona:<10}{report.precision(persona):>10.1%}{report.recall(persona):>8.1%}"
            f"{support:>9}"
        )
    out.append("")
    out.append("confusion (rows: label, columns: routed)")
    out.append(" " * 10 + "".join(f"{p:>7}" for p in report.personas))
    for label in report.personas:
        row = "".join(f"{report.confusion[label][p]:>7}" for p in report.personas)
        out.append(f"{label:<10}{row}")
    out.append("")
    out.append(f"routing time: median {micros:.1f} µs per message (1,000 messages from the set)")
    if show_misses:
        out.append("")
        for sample, guess in report.misses():
            if show_misses not in ("all", sample.split):
                continue
            out.append(f"  {sample.id} {sample.label}->{guess}: {sample.text[:90]}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET, help="labelled JSONL file")
    parser.add_argument(
        "--misses", choices=("dev", "holdout", "fresh", "all"), help="list the misrouted messages"
    )
    args = parser.parse_args(argv)
    report = evaluate(args.set)
    micros = median_routing_microseconds([s.text for s in report.samples])
    sys.stdout.write(render(report, micros, args.misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
