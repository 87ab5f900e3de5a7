"""Evaluate the persona router on a labelled set: `make eval-personas`.

Prints accuracy (overall, by language, kind, split, length and ambiguity, whichever the
set's rows carry), per-persona precision and recall, the confusion matrix, the
reliability table (confidence bucket -> accuracy and count; unsure answers apart), and the
median routing time per message. `--floor` (overall, and each language, persona and the
hard kind with `--floor-part`) makes it exit non-zero below the floor. The default sets
are the earlier labelled set and the blind set frozen on 2026-12-07
(tests/data/personas/blind_2026-12-07.jsonl: written from the persona descriptions alone
by someone who never saw the rules, cue lists or training corpus; never trained or tuned
on).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from shared.personas.routing import persona_names, route_message

DATA = Path(__file__).resolve().parent.parent / "tests/data/personas"
DEFAULT_SET = DATA / "eval_set.jsonl"
BLIND_SET = DATA / "blind_2026-12-07.jsonl"
BUCKETS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)


@dataclass
class Sample:
    id: str
    text: str
    label: str
    lang: str
    length: str = ""
    ambiguous: bool = False
    split: str = ""
    kind: str = ""


@dataclass
class Report:
    samples: list[Sample]
    predicted: list[str]
    personas: list[str]
    confusion: dict[str, Counter[str]] = field(default_factory=dict)
    confidence: list[float] = field(default_factory=list)
    unsure: list[bool] = field(default_factory=list)

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
    routes = [route_message(s.text) for s in samples]
    predicted = [r.persona for r in routes]
    personas = persona_names()
    confusion = {label: Counter[str]() for label in personas}
    for sample, guess in zip(samples, predicted, strict=True):
        confusion.setdefault(sample.label, Counter())[guess] += 1
    report = Report(samples, predicted, personas, confusion)
    report.confidence = [float(r.confidence) for r in routes]
    report.unsure = [r.unsure for r in routes]
    return report


def reliability(report: Report) -> list[tuple[str, int, float]]:
    """(confidence bucket, decisions in it, share right); unsure answers in a row of their own."""
    rows = []
    triples = list(zip(report.samples, report.predicted, report.confidence, strict=True))
    sure = [t for t, unsure in zip(triples, report.unsure, strict=True) if not unsure]
    for low, high in itertools.pairwise(BUCKETS):
        inside = [(s, p) for s, p, c in sure if low <= c < high]
        right = sum(s.label == p for s, p in inside)
        rows.append(
            (
                f"{low:.1f}-{min(high, 1.0):.1f}",
                len(inside),
                right / len(inside) if inside else float("nan"),
            )
        )
    unsure = [(s, p) for (s, p, _), u in zip(triples, report.unsure, strict=True) if u]
    right = sum(s.label == p for s, p in unsure)
    rows.append(("unsure", len(unsure), right / len(unsure) if unsure else float("nan")))
    return rows


def at_least(report: Report, confidence: float) -> tuple[int, float]:
    """Decisions at `confidence` or above that are not unsure, and the share right."""
    chosen = [
        s.label == p
        for s, p, c, u in zip(
            report.samples, report.predicted, report.confidence, report.unsure, strict=True
        )
        if c >= confidence and not u
    ]
    return len(chosen), (sum(chosen) / len(chosen) if chosen else float("nan"))


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
        ("lang", ("en", "ko", "mixed")),
        ("kind", ("plain", "hard")),
        ("split", ("dev", "holdout", "fresh")),
        ("length", ("short", "long")),
    ]
    for attr, values in groups:
        if not any(getattr(s, attr) for s in report.samples):
            continue
        parts = []
        for value in values:

            def keep(s: Sample, a: str = attr, v: str = value) -> bool:
                return bool(getattr(s, a) == v)

            parts.append(
                f"{value} {report.accuracy_where(keep):.1%} (n={report.count_where(keep)})"
            )
        out.append(f"  by {attr}: " + ", ".join(parts))
    if any(s.ambiguous for s in report.samples):
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
    out.append("reliability (confidence of the decision -> share right)")
    for bucket, count, share in reliability(report):
        out.append(f"  {bucket:<9}{count:>6}  {share:.1%}")
    count, share = at_least(report, 0.8)
    out.append(f"  at >= 0.8: {count} decisions, {share:.1%} right")
    out.append("")
    out.append(f"routing time: median {micros:.1f} µs per message (1,000 messages from the set)")
    if show_misses:
        out.append("")
        for sample, guess in report.misses():
            if show_misses not in ("all", sample.split, sample.kind):
                continue
            out.append(f"  {sample.id} {sample.label}->{guess}: {sample.text[:90]}")
    return "\n".join(out) + "\n"


def _in_language(lang: str, sample: Sample) -> bool:
    return sample.lang == lang


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET, help="labelled JSONL file")
    parser.add_argument(
        "--misses",
        choices=("dev", "holdout", "fresh", "plain", "hard", "all"),
        help="list the misrouted messages",
    )
    parser.add_argument("--floor", type=float, help="exit 1 under this overall accuracy")
    parser.add_argument(
        "--floor-part",
        type=float,
        help="exit 1 if a language, a persona's recall or the hard kind is under this",
    )
    args = parser.parse_args(argv)
    report = evaluate(args.set)
    micros = median_routing_microseconds([s.text for s in report.samples])
    sys.stdout.write(render(report, micros, args.misses))
    failed = []
    if args.floor is not None and report.accuracy < args.floor:
        failed.append(f"accuracy {report.accuracy:.1%} < {args.floor:.0%}")
    if args.floor_part is not None:
        parts = {
            f"lang {lang}": report.accuracy_where(partial(_in_language, lang))
            for lang in sorted({s.lang for s in report.samples})
        }
        parts |= {f"recall {p}": report.recall(p) for p in report.personas}
        if any(s.kind == "hard" for s in report.samples):
            parts["hard"] = report.accuracy_where(lambda s: s.kind == "hard")
        failed += [
            f"{name} {value:.1%} < {args.floor_part:.0%}"
            for name, value in parts.items()
            if value < args.floor_part
        ]
    for line in failed:
        sys.stderr.write(f"below the floor: {line}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
