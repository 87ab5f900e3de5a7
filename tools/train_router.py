"""Train the persona classifier (`shared/personas/classifier.py`): `make train-router`.

Reads the labelled corpus (`tools/data/persona_corpus_*.jsonl`; never an evaluation set),
fits a multinomial logistic regression over the classifier's features with AdaGrad and L2
(deterministic: a fixed seed and order), fits the softmax temperature on a held-out fifth
(lowest negative log-likelihood), then refits on everything and writes
`shared/personas/router_model.json` with the corpus's digest, so a test can tell when the
weights are stale.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
from collections import Counter
from pathlib import Path

import numpy as np

from shared.personas.classifier import MODEL_FILE, features

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted((ROOT / "tools" / "data").glob("persona_corpus_*.jsonl"))
LABELS = ("Lua", "Elro", "Riri", "Nana")
EPOCHS = 25
RATE = 0.5
L2 = 1e-4
MIN_COUNT = 2  # a feature seen once says more about its message than about its persona
SEED = 7


EVALUATION_SETS = sorted((ROOT / "tests" / "data" / "personas").glob("*.jsonl"))


def corpus_rows(paths: list[Path] = CORPUS) -> list[dict[str, str]]:
    """The corpus, less any message that is also in an evaluation set (a short greeting
    written by both sides, say): those are never trained on."""
    evaluated = {
        json.loads(line)["text"]
        for path in EVALUATION_SETS
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    }
    rows = []
    for path in paths:
        lines = path.read_text(encoding="utf-8").splitlines()
        rows += [json.loads(line) for line in lines if line.strip()]
    return [row for row in rows if row["text"] not in evaluated]


def corpus_digest(paths: list[Path] = CORPUS) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _encode(rows: list[dict[str, str]], vocabulary: dict[str, int]) -> list[tuple[np.ndarray, int]]:
    encoded = []
    for row in rows:
        found = features(row["text"])
        encoded.append(
            (
                np.array([vocabulary[f] for f in found if f in vocabulary], dtype=np.int64),
                len(found),
            )
        )
    return encoded


def fit(rows: list[dict[str, str]]) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    counts: Counter[str] = Counter(f for row in rows for f in features(row["text"]))
    vocabulary = {
        f: i for i, f in enumerate(sorted(f for f, n in counts.items() if n >= MIN_COUNT))
    }
    weights = np.zeros((len(vocabulary), len(LABELS)))
    bias = np.zeros(len(LABELS))
    squares_w = np.full_like(weights, 1e-8)
    squares_b = np.full_like(bias, 1e-8)
    encoded = _encode(rows, vocabulary)
    targets = [LABELS.index(row["label"]) for row in rows]
    order = list(range(len(rows)))
    shuffle = random.Random(SEED)  # noqa: S311 - a reproducible order, not a secret
    for _ in range(EPOCHS):
        shuffle.shuffle(order)
        for n in order:
            index, size = encoded[n]
            scale = 1 / math.sqrt(max(1, size))
            scores = bias + weights[index].sum(axis=0) * scale
            scores -= scores.max()
            probabilities = np.exp(scores) / np.exp(scores).sum()
            error = probabilities.copy()
            error[targets[n]] -= 1
            grad = np.outer(np.full(len(index), scale), error) + L2 * weights[index]
            squares_w[index] += grad**2
            weights[index] -= RATE * grad / np.sqrt(squares_w[index])
            squares_b += error**2
            bias -= RATE * error / np.sqrt(squares_b)
    return vocabulary, weights, bias


def _scores(
    rows: list[dict[str, str]], model: tuple[dict[str, int], np.ndarray, np.ndarray]
) -> np.ndarray:
    vocabulary, weights, bias = model
    out = []
    for index, size in _encode(rows, vocabulary):
        out.append(bias + weights[index].sum(axis=0) / math.sqrt(max(1, size)))
    return np.array(out)


def fit_temperature(scores: np.ndarray, targets: list[int]) -> float:
    best, best_loss = 1.0, math.inf
    for temperature in np.arange(0.3, 4.01, 0.05):
        scaled = scores / temperature
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        log_p = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
        loss = -np.mean(log_p[np.arange(len(targets)), targets])
        if loss < best_loss:
            best, best_loss = float(temperature), float(loss)
    return round(best, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=MODEL_FILE)
    args = parser.parse_args()
    rows = corpus_rows()
    held = random.Random(SEED)  # noqa: S311 - a reproducible split, not a secret
    indices = list(range(len(rows)))
    held.shuffle(indices)
    cut = len(rows) // 5
    held_out = [rows[i] for i in indices[:cut]]
    training = [rows[i] for i in indices[cut:]]
    trial = fit(training)
    scores = _scores(held_out, trial)
    targets = [LABELS.index(row["label"]) for row in held_out]
    temperature = fit_temperature(scores, targets)
    accuracy = float(np.mean(scores.argmax(axis=1) == np.array(targets)))
    vocabulary, weights, bias = fit(rows)
    kept = {
        feature: [round(float(w), 4) for w in weights[i]]
        for feature, i in vocabulary.items()
        if np.abs(weights[i]).max() >= 0.01
    }
    model = {
        "labels": list(LABELS),
        "bias": [round(float(b), 4) for b in bias],
        "temperature": temperature,
        "corpusSha256": corpus_digest(),
        "corpusRows": len(rows),
        "heldOutAccuracy": round(accuracy, 3),
        "weights": kept,
    }
    args.output.write_text(
        json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    print(
        f"{len(rows)} rows, {len(kept)} features kept, held-out accuracy {accuracy:.3f}, "
        f"temperature {temperature}, written to {args.output}"
    )


if __name__ == "__main__":
    main()
