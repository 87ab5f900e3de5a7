"""Rising fields are exempted from single-field indexing where no query needs the index.

An exempted field has no single-field index, so a query that filters or orders on it alone
(or merges equality filters over single-field indexes) fails in production, while the
emulator serves it. Queries that need a composite index keep working: composite indexes
are not affected by exemptions.
"""

from __future__ import annotations

from tests.infra.terraform_hcl import INFRA, local, module_call, one, resource, variables
from tests.infra.test_firestore_indexes import ALL_SHAPES
from tools import capacity

FIRESTORE_MODULE = INFRA / "modules" / "firestore"
TERRAFORM = capacity.read_terraform()


def single_field_needs() -> dict[str, set[tuple[str, str]]]:
    """Collection -> (field, where) of queries served by single-field indexes."""
    needs: dict[str, set[tuple[str, str]]] = {}
    for where, shape in ALL_SHAPES:
        if shape.needs_composite_index():
            continue
        for name in shape.fields():
            needs.setdefault(shape.collection, set()).add((name, where))
    return needs


def test_no_query_needs_the_single_field_index_of_an_exempted_field() -> None:
    needs = single_field_needs()
    broken = [
        f"{collection}.{name} ({where})"
        for collection, exempted in TERRAFORM.exemptions.items()
        for name, where in needs.get(collection, set())
        if name in exempted
    ]

    assert broken == []


def test_the_ttl_fields_kept_indexed_are_those_a_query_reads() -> None:
    needs = single_field_needs()
    ttl = local(INFRA, "firestore_ttl_fields")
    declared = local(INFRA, "firestore_ttl_fields_indexed")  # a one-element list unwraps
    kept = {declared} if isinstance(declared, str) else set(declared)
    queried = {
        collection
        for collection, field in ttl.items()
        if field in {name for name, _ in needs.get(collection, set())}
    }

    assert kept == queried == {"agents"}


def test_exemptions_name_no_ttl_field_twice() -> None:
    ttl = local(INFRA, "firestore_ttl_fields")
    exemptions = local(INFRA, "firestore_index_exemptions")

    assert [c for c, fields in exemptions.items() if ttl.get(c) in fields] == []


def test_the_module_exempts_with_an_empty_index_config() -> None:
    unindexed = resource(FIRESTORE_MODULE, "google_firestore_field", "unindexed")
    ttl = resource(FIRESTORE_MODULE, "google_firestore_field", "ttl")
    dynamic = {name for block in ttl.get("dynamic", []) for name in block}
    lifecycle = one(unindexed["lifecycle"])

    assert one(unindexed["index_config"]) == {}
    assert "precondition" in lifecycle
    assert dynamic == {"index_config"}
    assert {"unindexed_ttl_fields", "index_exemptions"} <= set(variables(FIRESTORE_MODULE))


def test_the_root_passes_the_exemptions_to_the_module() -> None:
    call = module_call(INFRA, "firestore")

    assert one(call["index_exemptions"]) == "${local.firestore_index_exemptions}"
    assert "local.firestore_ttl_fields_indexed" in one(call["unindexed_ttl_fields"])


def test_the_model_reads_the_exemptions_terraform_declares() -> None:
    assert TERRAFORM.exemptions["limits"] == {"updatedAt", "expiresAt"}
    assert "expiresAt" not in TERRAFORM.exemptions.get("agents", set())
    assert "stagedAt" not in TERRAFORM.exemptions.get("outbox", set())
