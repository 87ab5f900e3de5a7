"""`make mutation`: mutation testing of the critical modules, and a report of the gaps.

mutmut (configured under `[tool.mutmut]` in pyproject.toml: which modules, which tests)
changes one thing at a time in those modules (operators, constants, returned values,
arguments) and runs the tests that cover the changed function; a change no test notices
"survives". The emulators start once and every test run reuses them
(`TEST_EMULATOR_PORTS`). Survivors judged to have no observable effect are listed, each
with its reason, in `tests/mutation/equivalent.toml`; the report
(`docs/mutation-report.md`) gives the score per module over the others and shows every
remaining survivor. Exit status 1 when a module scores under the target.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from infra.local.emulators import Emulators, free_port

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = Path(sys.executable).parent / "mutmut"
EQUIVALENT = ROOT / "tests" / "mutation" / "equivalent.toml"
REPORT = ROOT / "docs" / "mutation-report.md"
TARGET = 0.90
_RESULT = re.compile(r"^\s*(\S+__mutmut_\d+): (.+)$")


@dataclass(frozen=True)
class Mutant:
    name: str  # shared.identity.auth.x_bearer_token__mutmut_5
    status: str  # killed, survived, timeout, no tests, ...

    @property
    def module(self) -> str:
        return self.name.split(".x", 1)[0]

    @property
    def function(self) -> str:
        return self.name.split(".x", 1)[1].split("__mutmut_")[0].lstrip("_ǁ").replace("ǁ", ".")


def run_mutmut(children: int) -> None:
    """A fresh mutmut run with the emulators shared by every test run."""
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    emulators = Emulators(free_port(), free_port(), "demo-agent-platform-test").start()
    env = {
        **os.environ,
        "TEST_EMULATOR_PORTS": f"{emulators.firestore_port},{emulators.pubsub_port}",
    }
    try:
        subprocess.run(
            [str(MUTMUT), "run", "--max-children", str(children)],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=45 * 60,
        )
    finally:
        emulators.stop()


def results() -> list[Mutant]:
    out = subprocess.run(
        [str(MUTMUT), "results", "--all", "true"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [
        Mutant(m.group(1), m.group(2).strip()) for m in map(_RESULT.match, out.splitlines()) if m
    ]


def change_of(name: str) -> str:
    """The mutated line, as `-old` / `+new`."""
    diff = subprocess.run(
        [str(MUTMUT), "show", name], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout
    lines = [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    return "\n".join(lines)


def equivalents() -> dict[str, dict[str, str]]:
    """Reviewed survivors: mutant name -> {change, reason}."""
    data = tomllib.loads(EQUIVALENT.read_text()) if EQUIVALENT.is_file() else {}
    return dict(data.get("mutant", {}))


def report(mutants: list[Mutant], elapsed: float) -> tuple[str, bool]:
    reviewed = equivalents()
    by_module: dict[str, list[Mutant]] = defaultdict(list)
    for mutant in mutants:
        by_module[mutant.module].append(mutant)
    rows, gaps, stale, met = [], [], [], True
    for module in sorted(by_module):
        killed = equivalent = 0
        for mutant in by_module[module]:
            if mutant.status in {"killed", "timeout"}:  # a hang is noticed too
                killed += 1
                continue
            change = change_of(mutant.name)
            entry = reviewed.get(mutant.name)
            if entry is not None and entry.get("change", "").strip() == change.strip():
                equivalent += 1
                continue
            if entry is not None:
                stale.append(mutant.name)
            gaps.append((mutant, change))
        judged = len(by_module[module]) - equivalent
        score = killed / judged if judged else 1.0
        met &= score >= TARGET
        rows.append(
            f"| `{module}` | {len(by_module[module])} | {killed} | {equivalent} | "
            f"{judged - killed} | {score:.1%} |"
        )
    total = len(mutants)
    lines = [
        "# Mutation testing report",
        "",
        "Written by `make mutation` (`tools/mutation.py`); see [testing](testing.md).",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {total} mutants in "
        f"{elapsed / 60:.1f} min. Target: at least {TARGET:.0%} of the mutants that are not "
        "equivalent killed in every module.",
        "",
        "| module | mutants | killed | equivalent (reviewed) | survived | score |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "## Survivors",
        "",
    ]
    if not gaps:
        lines.append("None: every surviving mutant is reviewed as equivalent.")
    for mutant, change in gaps:
        lines += [f"- `{mutant.name}` ({mutant.status})", "", "  ```diff"]
        lines += [f"  {line}" for line in change.splitlines()] + ["  ```", ""]
    if stale:
        lines += ["", "Reviewed entries whose change no longer matches (review again):", ""]
        lines += [f"- `{name}`" for name in stale]
    return "\n".join(lines).rstrip() + "\n", met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=2, help="mutants tested at once")
    parser.add_argument("--report-only", action="store_true", help="report the last run")
    args = parser.parse_args(argv)
    started = time.monotonic()
    if not args.report_only:
        run_mutmut(args.children)
    text, met = report(results(), time.monotonic() - started)
    REPORT.write_text(text)
    sys.stdout.write(text)
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
