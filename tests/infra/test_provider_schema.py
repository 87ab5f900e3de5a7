"""Every google_* resource in infra/ against the provider's real schema, offline.

`terraform validate` cannot run here (the provider cannot be downloaded), so the schema
comes from the prebuilt CDK for Terraform bindings of the same provider version that
versions.tf pins (tests/infra/provider_schema.py). A misspelt argument, an argument
written as a block, an unknown block or a missing required argument fails here, and so
does a module call with an argument its module does not declare.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from infra.manifest import ROOT
from tests.infra import provider_schema
from tests.infra.hcl_structure import top_blocks
from tests.infra.terraform_hcl import INFRA, one, parse, tf_files, variables

VIOLATIONS = Path(__file__).parent / "data" / "schema_violations" / "main.tf"
FILES = tf_files()


def label(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", FILES, ids=[label(p) for p in FILES])
def test_resources_match_the_google_provider_schema(path: Path) -> None:
    assert provider_schema.check_file(path, label(path)) == []


def test_schema_check_sees_every_kind_of_mistake() -> None:
    problems = provider_schema.check_file(VIOLATIONS, "main.tf")

    assert problems == [
        "main.tf: google_pubsub_subscription.misspelt_argument:6: "
        "unknown argument 'ack_deadline_second'",
        "main.tf: google_pubsub_subscription.missing_required_argument:9: missing required 'topic'",
        "main.tf: google_pubsub_subscription.argument_written_as_block:17: "
        "labels is an argument, written as a block",
        "main.tf: google_pubsub_subscription.unknown_nested_block:push_config:29: "
        "unknown block 'oidc'",
        "main.tf: google_cloud_scheduler_job.dynamic_block_with_a_misspelt_argument:"
        "pubsub_target:41: unknown argument 'topic'",
        "main.tf: google_cloud_scheduler_job.dynamic_block_with_a_misspelt_argument:"
        "pubsub_target:40: missing required 'topic_name'",
    ]


def test_schema_knows_required_blocks_and_nested_arguments() -> None:
    policy = provider_schema.schema("google_compute_security_policy")
    rule, rule_required = policy.blocks["rule"]

    assert rule_required is False
    assert rule.arguments["priority"] is True and rule.arguments["description"] is False
    assert rule.blocks["match"][1] is True
    assert "expression" in rule.blocks["match"][0].blocks["expr"][0].arguments


def _module_folder(caller: Path, source: str) -> Path | None:
    folder = (caller.parent / source).resolve()
    return folder if folder.is_dir() else None


@pytest.mark.parametrize("path", FILES, ids=[label(p) for p in FILES])
def test_module_calls_set_only_declared_variables_and_every_required_one(path: Path) -> None:
    problems = []
    for block in top_blocks(path):
        if block.type != "module":
            continue
        arguments = block.attributes()
        source = next(
            one(call[block.labels[0]]["source"])
            for call in parse(path).get("module", [])
            if block.labels[0] in call
        )
        folder = _module_folder(path, source)
        assert folder is not None, f"{label(path)}: module {block.labels[0]} source {source}"
        declared = variables(folder)
        meta = {"source", "version", "count", "for_each", "depends_on", "providers"}
        for name, attribute in arguments.items():
            if name not in declared and name not in meta:
                problems.append(f"{label(path)}:{attribute.line}: {name} is not a variable")
        for name, body in declared.items():
            if "default" not in body and name not in arguments:
                problems.append(f"{label(path)}: module {block.labels[0]} misses {name}")

    assert problems == []


def test_provider_pin_is_the_version_the_schema_comes_from() -> None:
    version = provider_schema.provider_version()
    major, minor, _ = version.split(".")
    pins = {}
    for path in FILES:
        for terraform in parse(path).get("terraform", []):
            for providers in terraform.get("required_providers", []):
                if "google" in providers:
                    pins[label(path)] = one(providers["google"])["version"]

    assert version == "6.50.0"
    assert pins, "versions.tf files pin the google provider"
    assert set(pins.values()) == {f"~> {major}.{minor}.0"}, pins


def test_installed_bindings_are_the_pinned_package() -> None:
    declared = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]

    assert re.fullmatch(r"\d+\.\d+\.\d+", declared["@cdktf/provider-google"])
    assert (
        locked["node_modules/@cdktf/provider-google"]["version"]
        == (declared["@cdktf/provider-google"])
    )
    assert provider_schema.package_version() == declared["@cdktf/provider-google"]


def test_every_module_and_root_is_checked() -> None:
    folders = {path.parent for path in FILES}

    assert INFRA / "modules" / "runtime_config" in folders
    assert {INFRA, INFRA / "environments" / "prod", INFRA / "environments" / "staging"} <= folders
