"""What Terraform gives each function, read from Terraform itself.

`infra/modules/runtime_config` holds no resource and needs no provider, so the real
`terraform` binary can evaluate it offline: a throw-away root module calls it with the
rehearsal's inputs (a demo project, the local gateway as the API URL) and `terraform
apply` on that root only computes its outputs. The root module in infra/ passes the same
outputs to the functions, the subscriptions and the scheduler, so what is missing or
wrong there is missing or wrong here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODULE = Path("modules") / "runtime_config"
# Variables of the root module that the rehearsal reads as Terraform would (their defaults).
ROOT_DEFAULTS = ("scheduled_calls", "rate_limits")


class TerraformError(RuntimeError):
    """terraform could not evaluate the configuration; the message holds its output."""


@dataclass(frozen=True)
class Subscription:
    topic: str
    dead_letter_topic: str | None
    push_path: str
    ack_deadline_seconds: int
    max_delivery_attempts: int
    minimum_backoff: str
    maximum_backoff: str


@dataclass(frozen=True)
class ScheduledCall:
    function: str
    method: str
    path: str
    headers: dict[str, str]
    body: str
    schedule: str


@dataclass(frozen=True)
class ScheduledMessage:
    topic: str
    data: str
    schedule: str


@dataclass(frozen=True)
class RuntimeConfig:
    environment_variables: dict[str, dict[str, str]]
    secrets: dict[str, list[dict[str, str]]]
    base_topics: list[str]
    subscriptions: dict[str, Subscription]
    scheduled_calls: dict[str, ScheduledCall]
    scheduled_messages: dict[str, ScheduledMessage]

    def topics(self) -> list[str]:
        """Every topic Terraform creates: each base topic and its dead-letter topic."""
        return sorted({name for base in self.base_topics for name in (base, f"{base}-dead-letter")})


def _terraform(*args: str, cwd: Path, timeout: float = 120) -> str:
    binary = shutil.which("terraform")
    if binary is None:
        raise TerraformError("terraform is not on PATH (the rehearsal evaluates the real HCL)")
    result = subprocess.run(
        [binary, *args, "-no-color"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "PATH": "/usr/bin:/bin"},
    )
    if result.returncode != 0:
        raise TerraformError(f"terraform {args[0]} failed:\n{result.stderr or result.stdout}")
    return result.stdout


def _hcl(value: Any) -> str:
    """A Python value as an HCL expression (JSON is valid HCL expression syntax)."""
    return json.dumps(value)


def root_module(infra: Path, inputs: dict[str, Any]) -> str:
    """A root that calls runtime_config the way infra/main.tf does, with these inputs."""
    arguments = "\n".join(f"  {name} = {_hcl(value)}" for name, value in sorted(inputs.items()))
    defaults = "\n".join(f"  {name} = var.{name}" for name in ROOT_DEFAULTS if name not in inputs)
    variables = "\n".join(
        _variable_block(infra, name) for name in ROOT_DEFAULTS if name not in inputs
    )
    return (
        f"{variables}\n"
        'module "runtime_config" {\n'
        f"  source   = {_hcl(str(infra / MODULE))}\n"
        f"  manifest = yamldecode(file({_hcl(str(infra / 'functions.yaml'))}))\n"
        f"{arguments}\n{defaults}\n"
        "}\n\n"
        'output "config" {\n  value = module.runtime_config\n}\n'
    )


def _variable_block(infra: Path, name: str) -> str:
    """The root module's `variable "name"` block, copied verbatim (type, default, checks)."""
    text = (infra / "variables.tf").read_text()
    start = text.find(f'variable "{name}" {{')
    if start < 0:
        raise TerraformError(f"infra/variables.tf has no variable {name!r}")
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return text[start : index + 1] + "\n"
    raise TerraformError(f"variable {name!r} in infra/variables.tf is not closed")


def evaluate(infra: Path, inputs: dict[str, Any]) -> RuntimeConfig:
    """Run terraform init + apply on a root that only calls runtime_config; read its outputs."""
    with tempfile.TemporaryDirectory(prefix="rehearsal-terraform-") as folder:
        work = Path(folder)
        (work / "main.tf").write_text(root_module(infra.resolve(), inputs))
        _terraform("init", "-backend=false", "-input=false", cwd=work)
        _terraform("apply", "-auto-approve", "-input=false", "-state=state.tfstate", cwd=work)
        output = _terraform("output", "-state=state.tfstate", "-json", "config", cwd=work)
    return parse(json.loads(output))


def parse(values: dict[str, Any]) -> RuntimeConfig:
    return RuntimeConfig(
        environment_variables={
            name: {key: str(value) for key, value in env.items()}
            for name, env in values["environment_variables"].items()
        },
        secrets={
            name: list(items) for name, items in values["secret_environment_variables"].items()
        },
        base_topics=sorted(values["base_topics"]),
        subscriptions={
            name: Subscription(**item) for name, item in values["subscriptions"].items()
        },
        scheduled_calls={
            key: ScheduledCall(
                function=item["function"],
                method=item["method"],
                path=item["path"],
                headers=dict(item["headers"]),
                body=item["body"],
                schedule=item["schedule"],
            )
            for key, item in values["scheduled_http_calls"].items()
        },
        scheduled_messages={
            key: ScheduledMessage(**item) for key, item in values["scheduled_messages"].items()
        },
    )
