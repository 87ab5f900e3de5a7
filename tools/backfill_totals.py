"""`python -m tools.backfill_totals`: recount the dashboard counters of guests whose
agents predate them (`shared.agents.backfill`), against the Firestore the environment
names (GOOGLE_CLOUD_PROJECT, or FIRESTORE_EMULATOR_HOST locally). Run once per
environment after the deploy that introduced `agent_totals`; running it again changes
nothing (guests with totals are left alone)."""

from __future__ import annotations

import json
import sys

from shared.agents import backfill


def main() -> int:
    json.dump(backfill.recount_all(), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
