from __future__ import annotations

import pytest

from shared.core import ids


def test_new_ids_have_their_kind_and_are_recognised() -> None:
    made = ids.new_id("agt")

    assert made.startswith("agt_")
    assert ids.is_id("agt", made)
    assert not ids.is_id("cnv", made)


@pytest.mark.parametrize(
    "value", ["agt_a/b", "__proto__", "agt_" + "0" * 23, "agt_" + "0" * 25, "agt_" + "G" * 24, ""]
)
def test_other_shapes_are_refused(value: str) -> None:
    assert not ids.is_id("agt", value)
