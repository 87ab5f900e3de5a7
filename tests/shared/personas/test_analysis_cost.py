"""The analysis costs a bounded amount of work per character, whatever the message."""

from __future__ import annotations

import pytest

from shared.personas.analysis import PREFIX_LIMIT, Scan, analyse, compile_cues, normalize, scan_of

# Messages that once cost their length squared (one long token) and their neighbours.
PATHOLOGICAL = {
    "one long number": lambda n: "0" * n,
    "one long word": lambda n: "a" * n,
    "one long hyphenated word": lambda n: ("ab-" * n)[:n].strip("-"),
    "many short words": lambda n: ("ab " * n)[:n],
    "dotted digits": lambda n: ("1." * n)[:n],
}


def characters_held(scan: Scan) -> int:
    """The characters the scan built: every token, prefix and distinct character."""
    return (
        len(scan.normalized)
        + sum(map(len, scan.tokens))
        + sum(map(len, scan.prefixes))
        + len(scan.chars)
    )


@pytest.mark.parametrize("shape", PATHOLOGICAL)
def test_a_scan_holds_a_bounded_number_of_characters_per_character_of_the_message(
    shape: str,
) -> None:
    text = PATHOLOGICAL[shape](10_000)

    held = characters_held(scan_of(normalize(text)))

    # At most PREFIX_LIMIT - 1 prefixes of at most PREFIX_LIMIT characters per token, and a
    # token of 2+ characters per 3 characters of text at worst ("ab ab ab").
    assert held <= 3 * len(text) + PREFIX_LIMIT**2 * len(text) // 3


@pytest.mark.parametrize("shape", PATHOLOGICAL)
def test_ten_times_the_message_is_at_most_ten_times_the_scan(shape: str) -> None:
    short = characters_held(scan_of(normalize(PATHOLOGICAL[shape](1_000))))
    long = characters_held(scan_of(normalize(PATHOLOGICAL[shape](10_000))))

    assert long <= 10 * short + PREFIX_LIMIT**2


def test_a_long_run_of_digits_keeps_the_prefixes_of_its_first_characters_only() -> None:
    scan = scan_of("0" * 10_000)

    assert scan.prefixes == {"0" * end for end in range(2, PREFIX_LIMIT + 1)}


def test_a_long_message_reads_as_a_short_one_of_the_same_shape() -> None:
    short, long = analyse("0" * 1_000), analyse("0" * 10_000)

    assert (long.language, long.rhythm.pace, long.tone.primary, long.intent) == (
        short.language,
        short.rhythm.pace,
        short.tone.primary,
        short.intent,
    )


def test_a_star_cue_longer_than_the_prefix_limit_still_matches_a_prefix() -> None:
    stem = "x" * (PREFIX_LIMIT + 6)
    matcher = compile_cues([f"{stem}*", "short*"])

    assert sorted(matcher.find(scan_of(f"a {stem}yz and shorter"))) == ["short*", f"{stem}*"]
    assert matcher.find(scan_of(f"a {stem[:-1]} only")) == []
