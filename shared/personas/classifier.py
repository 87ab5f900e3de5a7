"""The persona classifier: a linear model over character and word n-grams, trained at
build time (`make train-router`, `tools/train_router.py`) on a labelled corpus and shipped
as a weights file beside this module (`router_model.json`); nothing is downloaded.

A message becomes a set of features: its words, pairs of adjacent words, and the 2- to
4-character pieces of each word (Korean particles and English inflections then share
pieces with their stems, and a typo spoils only a few). Each feature carries one weight
per persona; a message's score for a persona is the bias plus the sum of its features'
weights, scaled by 1/sqrt(feature count), and a softmax at the calibrated temperature
turns the scores into probabilities that mean what they say (`temperature` is fitted on
held-out data so that a 0.8 is right about 80 % of the time). The features that pushed
the winner furthest above the runner-up are its evidence.

Cost: one pass over at most `MAX_CHARS` characters, a few dictionary lookups per
character; the weights load once per process (about 20 ms), on the first route.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

MODEL_FILE = Path(__file__).with_name("router_model.json")
MAX_CHARS = 4000  # the head of a longer message decides (linear cost, bounded)
_TOKEN = re.compile(r"\w+|[^\w\s]")


def features(text: str) -> list[str]:
    """The message's features (see the module): distinct, in first-seen order."""
    normal = unicodedata.normalize("NFKC", text[:MAX_CHARS]).lower()
    normal = re.sub(r"\d", "0", normal)  # numbers count as numbers, not as their digits
    tokens = _TOKEN.findall(normal)
    found: dict[str, None] = {}
    for token in tokens:
        found["w:" + token] = None
        if token[0].isalnum() or token[0] == "_":
            padded = f" {token} "
            for size in (2, 3, 4):
                for start in range(len(padded) - size + 1):
                    found["c:" + padded[start : start + size]] = None
    for first, second in itertools.pairwise(tokens):
        found["b:" + first + " " + second] = None
    return list(found)


@dataclass(frozen=True)
class Reading:
    """The classifier's probabilities and the features that decided."""

    probabilities: dict[str, float]
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class Model:
    labels: tuple[str, ...]
    bias: tuple[float, ...]
    weights: dict[str, list[float]]
    temperature: float

    def read(self, text: str) -> Reading:
        found = features(text)
        scale = 1 / math.sqrt(max(1, len(found)))
        scores = list(self.bias)
        known = [(f, self.weights[f]) for f in found if f in self.weights]
        for _, weight in known:
            for i, value in enumerate(weight):
                scores[i] += value * scale
        top = max(scores)
        exps = [math.exp((s - top) / self.temperature) for s in scores]
        total = math.fsum(exps)
        probabilities = {label: e / total for label, e in zip(self.labels, exps, strict=True)}
        ranked = sorted(range(len(scores)), key=lambda i: -scores[i])
        win, second = ranked[0], ranked[1]
        pushed = sorted(known, key=lambda fw: -(fw[1][win] - fw[1][second]))
        shown = dict.fromkeys(
            _shown(f) for f, w in pushed[: MAX_EVIDENCE * 4] if w[win] > w[second]
        )
        return Reading(probabilities, tuple(shown)[:MAX_EVIDENCE])


MAX_EVIDENCE = 3


def _shown(feature: str) -> str:
    kind, _, value = feature.partition(":")
    return value.strip() if kind != "c" else f"…{value.strip()}…"


@cache
def load_model() -> Model | None:
    """The shipped model, or None when there is none (the rules then decide alone)."""
    if not MODEL_FILE.exists():
        return None
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    return Model(
        labels=tuple(data["labels"]),
        bias=tuple(data["bias"]),
        weights=data["weights"],
        temperature=float(data["temperature"]),
    )
