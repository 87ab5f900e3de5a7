"""The capacity model (`make capacity`, tools/capacity.py) holds the manifest to Firestore's,
Cloud Run's and Pub/Sub's limits, and docs/capacity.md says what it computes."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from infra.manifest import ROOT, Manifest, load
from tools import capacity

MODEL = capacity.build()
FIRESTORE = {"document", "index"}


def scaled(manifest: Manifest, entry_name: str, factor: int) -> Manifest:
    """The manifest with one entry's maxInstances multiplied."""
    functions = []
    for entry in manifest.functions:
        scaling = entry.scaling.model_copy(
            update={"max_instances": entry.scaling.max_instances * factor}
        )
        functions.append(
            entry.model_copy(update={"scaling": scaling}) if entry.name == entry_name else entry
        )
    return manifest.model_copy(update={"functions": functions})


def test_make_capacity_finds_the_page_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.capacity", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr + " (run `make capacity`)"


def test_the_committed_manifest_passes_no_limit_at_1x() -> None:
    over = [row.what for row in MODEL.over(1) if row.kind != "keyed document"]

    assert over == []
    assert MODEL.first_limit(1) is None


def test_at_10x_only_the_open_rows_reach_a_firestore_limit() -> None:
    over = {row.key for row in MODEL.over(10) if row.kind in FIRESTORE}

    # An entry of OPEN that no longer reaches its limit has been fixed: remove it, and the
    # page stops listing it as open.
    assert over == set(capacity.OPEN)


def test_raising_max_instances_without_the_model_is_caught_at_1x() -> None:
    doubled = capacity.build(scaled(load(), "chat", 2), MODEL.terraform)

    assert "index messages(status, createdAt) [collection group]" in {
        row.key for row in doubled.over(1)
    }


def test_the_index_exemptions_are_what_keep_1x_within_the_limits() -> None:
    bare = capacity.build(load(), replace(MODEL.terraform, exemptions={}))
    over = {row.key for row in bare.over(1)}

    assert {"index limits.updatedAt", "index limits.expiresAt"} <= over


def test_the_token_meter_shards_follow_the_manifest() -> None:
    manifest = load()
    shards = capacity.token_budget_shards(manifest)
    meter = MODEL.row("document deployment token meter")

    assert shards == capacity.token_budget_shards(manifest, 1)
    assert capacity.token_budget_shards(scaled(manifest, "chat", 10)) > 5 * shards
    assert all(value <= capacity.DOCUMENT_WRITES_PER_SECOND for value in meter.values.values())


def test_the_per_shard_budget_is_checked_against_one_run() -> None:
    budget = MODEL.row("budget per shard")

    assert not budget.over(1)
    assert budget.over(10), "a 10x manifest needs a larger CHAT_TOKENS_PER_DAY_GLOBAL"


@pytest.mark.parametrize("name", ["guest token meter", "guest quota", "answer (partial text)"])
def test_a_guest_and_an_answer_stay_within_one_write_a_second(name: str) -> None:
    row = MODEL.row(f"keyed {name}")

    assert not row.over(1), row


def test_the_address_meter_at_cloud_armors_ceiling_is_reported() -> None:
    row = MODEL.row("keyed address token meter")

    # Two writes a run (reserve, settle) at Cloud Armor's 60 chat POSTs a minute: only the
    # guests behind that one address are slowed; the page says so.
    assert row.values[1] == 2.0
    assert "chat POSTs a minute" in row.note
    assert row.what in capacity.PAGE.read_text()


def test_the_storm_names_the_alert_group_document() -> None:
    storm = {row.key for row in MODEL.over(1, scenario="outage")}

    assert "document alert group" in storm


def test_every_open_fix_is_on_the_page() -> None:
    page = capacity.PAGE.read_text()

    for key, fix in capacity.OPEN.items():
        assert MODEL.row(key).what in page
        assert fix in page


def test_every_flow_is_served_by_an_entry_of_the_manifest() -> None:
    names = {entry.name for entry in load().functions}

    assert {flow.entry for flow in capacity.flows(load())} <= names
    for flow in capacity.flows(load()):
        assert set(flow.writes) <= set(capacity.DOCS), flow.name
