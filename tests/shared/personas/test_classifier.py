"""The persona classifier: its features, its shipped weights, and its honesty."""

from __future__ import annotations

from shared.personas import classifier
from tools import train_router


def test_features_are_words_pairs_and_pieces_of_words() -> None:
    found = classifier.features("Deploy FAILED 3 times!")

    assert {"w:deploy", "w:failed", "w:0", "w:!", "b:deploy failed", "c: de", "c:ailed"} - set(
        found
    ) == {"c:ailed"}  # pieces are at most 4 characters
    assert "c:led " in found and len(found) == len(set(found))


def test_a_long_message_is_read_up_to_its_bounded_head() -> None:
    head = "data " * 1000

    assert classifier.features(head + "x" * 50_000) == classifier.features(head[:4000])


def test_the_shipped_weights_were_trained_on_the_committed_corpus() -> None:
    model = classifier.MODEL_FILE.read_text(encoding="utf-8")

    assert f'"corpusSha256":"{train_router.corpus_digest()}"' in model, (
        "shared/personas/router_model.json is stale: run `make train-router`"
    )


def test_the_corpus_is_bilingual_balanced_and_apart_from_every_evaluation_set() -> None:
    from tools import eval_personas

    rows = train_router.corpus_rows()
    evaluated = {s.text for s in eval_personas.load_samples()}
    evaluated |= {s.text for s in eval_personas.load_samples(eval_personas.BLIND_SET)}

    assert len(rows) >= 2000
    assert {r["lang"] for r in rows} == {"en", "ko"}
    assert {r["label"] for r in rows} == set(train_router.LABELS)
    assert not evaluated & {r["text"] for r in rows}


def test_the_probabilities_sum_to_one_and_name_their_evidence() -> None:
    model = classifier.load_model()
    assert model is not None

    reading = model.read("Our p95 latency doubled after the Kafka upgrade; how do I debug it?")

    assert abs(sum(reading.probabilities.values()) - 1) < 1e-9
    assert max(reading.probabilities, key=reading.probabilities.__getitem__) == "Elro"
    assert reading.evidence
