"""cloudbuild.yaml: test -> package -> upload -> terraform -> smoke test, per environment."""

from __future__ import annotations

import re
from typing import Any

import yaml

from infra.manifest import ROOT

BUILD: dict[str, Any] = yaml.safe_load((ROOT / "cloudbuild.yaml").read_text())
STEPS: list[dict[str, Any]] = BUILD["steps"]


def step(step_id: str) -> dict[str, Any]:
    return next(s for s in STEPS if s["id"] == step_id)


def script(step_id: str) -> str:
    return " ".join(str(arg) for arg in step(step_id).get("args", []))


def test_every_step_has_a_unique_id() -> None:
    ids = [s.get("id") for s in STEPS]

    assert all(ids) and len(ids) == len(set(ids))


def test_steps_run_in_delivery_order() -> None:
    ids = [s["id"] for s in STEPS]
    order = ["install", "test", "package", "upload", "terraform-init", "terraform-plan"]
    order += ["terraform-apply", "smoke-test"]

    assert [i for i in ids if i in order] == order


def test_environment_and_buckets_are_substitutions_not_copies() -> None:
    substitutions = BUILD["substitutions"]

    assert substitutions["_ENV"] == "staging"
    assert "${_ENV}" in substitutions["_TF_DIR"]
    assert all("${_TF_DIR}" in script(i) for i in ["terraform-init", "terraform-plan"])
    assert "-backend-config=bucket=${_STATE_BUCKET}" in script("terraform-init")
    assert "TF_VAR_source_prefix=${SHORT_SHA}" in BUILD["options"]["env"]
    assert "${_SOURCE_BUCKET}/${SHORT_SHA}/" in script("upload")


def test_tests_and_packaging_go_through_make() -> None:
    assert "make test" in script("test")
    assert "make package" in script("package")
    assert "emulators" in BUILD["substitutions"]["_GCLOUD_IMAGE"]


def test_apply_uses_the_reviewed_plan() -> None:
    assert "-out=tfplan" in script("terraform-plan")
    assert script("terraform-apply").endswith("tfplan")
    assert "apply" in step("terraform-apply")["args"]


def test_smoke_test_is_the_script_the_rehearsal_runs() -> None:
    smoke = script("smoke-test")
    rehearsal = (ROOT / "infra" / "rehearsal" / "rehearse.py").read_text()

    assert 'python3 infra/smoke_test.py "$$url"' in smoke
    assert "from infra.smoke_test import run as smoke_test" in rehearsal


def test_smoke_test_does_not_fail_a_first_deploy_on_the_certificate() -> None:
    """A managed certificate is ACTIVE only once DNS points at the load balancer, which a
    first deploy cannot have done: the HTTPS test waits for it, the revisions are checked."""
    smoke = script("smoke-test")
    outputs = script("api-url")

    assert "gcloud compute ssl-certificates describe" in smoke
    assert 'if [ "$$status" = ACTIVE ]; then' in smoke
    assert "latestReadyRevisionName" in smoke and "latestCreatedRevisionName" in smoke
    assert smoke.index("infra/smoke_test.py") < smoke.index("exit 0") < smoke.index("gcloud run")
    for name in ("api_url", "api_ip", "certificate", "region", "function_urls"):
        assert name in outputs


def test_smoke_test_script_creates_reads_and_revokes_a_session() -> None:
    source = (ROOT / "infra" / "smoke_test.py").read_text()

    assert '"POST", f"{base_url}/v1/sessions"' in source
    assert '"GET", f"{base_url}/v1/sessions/current"' in source
    assert '"DELETE", f"{base_url}/v1/sessions/current"' in source


def test_build_installs_the_node_tools_make_test_needs() -> None:
    assert "npm" in script("install") and "node-tools" in script("install")


def test_shell_variables_are_escaped_from_cloud_build_substitution() -> None:
    # Cloud Build substitutes $NAME itself; shell variables must be written $$NAME.
    for s in STEPS:
        for arg in s.get("args", []):
            bare = re.findall(r"(?<!\$)\$(?!\$)(?!\{)([a-z][a-z_]*|\()", str(arg))
            assert bare == [], (s["id"], bare)
