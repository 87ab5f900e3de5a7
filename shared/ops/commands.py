"""Ops commands: plan (pick a tool), store, and run once.

`ops_commands/{opc_...}` holds `text status plan plannedBy reason requestedBy confirmedBy
result error createdAt confirmedAt finishedAt`. A command without a plan is `unrecognised`
with the reason. A plan that only reads runs when it is made; a plan that changes
something waits for `confirm`, which moves it from `awaiting_confirmation` to `running` in
a transaction: of two confirmations (retries, double clicks, two instances) exactly one
wins and runs the tool; the other waits for the run to end and answers the stored command
with its result. A command left `running` by an instance that died is not retried (it
may have acted): a confirmation waits for it until its request's deadline is near, then
answers it as stored.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from shared.core import deadline, errors, ids, log
from shared.core.models import utcnow
from shared.gcp import clients, firestore
from shared.ops import planner
from shared.ops.models import CommandPublic, Plan
from shared.tools import registry
from shared.tools.registry import Caller

logger = log.get_logger("ops")
COLLECTION = "ops_commands"
OPERATOR = Caller(operator=True)
# A losing confirmation reads the command this often while the winner runs it, and stops
# waiting this long before its own request's deadline.
SETTLE_POLL_SECONDS = 0.2
SETTLE_MARGIN_SECONDS = 2.0


def _ref(command_id: str) -> Any:
    if not ids.is_id("opc", command_id):
        raise errors.NotFound(f"no command {command_id[:40]!r}")
    return clients.firestore().collection(COLLECTION).document(command_id)


def _public(command_id: str, data: dict[str, Any]) -> CommandPublic:
    return CommandPublic.model_validate({**data, "id": command_id})


def _run(plan: Plan, who: str | None) -> dict[str, Any]:
    """The fields a run leaves: done with its result, or failed with the reason. The tool
    runs as the operator who asked (or confirmed), so a change records who."""
    caller = Caller(operator=True, requested_by=who) if who else OPERATOR
    outcome = registry.execute(caller, plan.tool, plan.arguments)
    if outcome.is_error:
        return {
            "status": "failed",
            "error": str(outcome.result.get("error")),
            "finishedAt": utcnow(),
        }
    return {"status": "done", "result": outcome.result, "finishedAt": utcnow()}


def create(text: str, address: str = "", requested_by: str | None = None) -> CommandPublic:
    """Plan the command and store it, with who asked; run it now if it only reads."""
    hold = planner.admit(text, address)
    try:
        chosen = planner.plan(text, hold)
    finally:
        hold.settle()
    command_id = ids.new_id("opc")
    data: dict[str, Any] = {
        "text": text,
        "plannedBy": chosen.planned_by,
        "requestedBy": requested_by,
        "createdAt": utcnow(),
        "plan": chosen.plan.model_dump(mode="json", by_alias=True) if chosen.plan else None,
    }
    if chosen.plan is None:
        data["status"] = "unrecognised"
        data["reason"] = chosen.reason
    elif chosen.plan.changes:
        data["status"] = "awaiting_confirmation"
    else:
        data.update(_run(chosen.plan, requested_by))
    _ref(command_id).create(data)
    logger.info(
        "ops command planned",
        extra={
            "fields": {
                "commandId": command_id,
                "status": data["status"],
                "tool": chosen.plan.tool if chosen.plan else None,
                "reason": chosen.reason,
                "requestedBy": requested_by,
            }
        },
    )
    return _public(command_id, data)


def get(command_id: str) -> CommandPublic:
    snapshot = _ref(command_id).get()
    if not snapshot.exists:
        raise errors.NotFound(f"no command {command_id!r}")
    return _public(command_id, snapshot.to_dict() or {})


def _settled(ref: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The command once its run has ended, read again while it is `running` (another
    confirmation runs it), until the current request's deadline is near."""
    left = deadline.remaining()
    budget = registry.call_deadline_seconds() if left is None else left
    until = time.monotonic() + budget - SETTLE_MARGIN_SECONDS
    while data.get("status") == "running" and time.monotonic() + SETTLE_POLL_SECONDS < until:
        time.sleep(SETTLE_POLL_SECONDS)
        data = ref.get().to_dict() or data
    return data


def confirm(command_id: str, confirmed_by: str | None = None) -> CommandPublic:
    """Run a changing plan once; a repeated confirmation answers the stored command, once
    its run has ended (a concurrent loser waits for the winner's result). A run that fails
    on the way (a dependency down) is stored as failed, so it can be planned again, and
    the failure answered."""
    ref = _ref(command_id)

    def claim(transaction: Any) -> tuple[bool, dict[str, Any]]:
        snapshot = ref.get(transaction=transaction)
        if not snapshot.exists:
            raise errors.NotFound(f"no command {command_id!r}")
        data = snapshot.to_dict() or {}
        if data.get("status") == "unrecognised":
            raise errors.Conflict("the command maps to no tool; there is nothing to confirm")
        if data.get("status") != "awaiting_confirmation":
            return False, data
        claimed = {"status": "running", "confirmedAt": utcnow(), "confirmedBy": confirmed_by}
        transaction.update(ref, claimed)
        return True, {**data, **claimed}

    won, data = firestore.transaction(claim)
    if not won:
        return _public(command_id, _settled(ref, data))
    try:
        finished = _run(Plan.model_validate(data["plan"]), confirmed_by or data.get("requestedBy"))
    except Exception as exc:
        failed = {"status": "failed", "error": str(exc)[:300], "finishedAt": utcnow()}
        with contextlib.suppress(Exception):  # the run's own failure is the one to answer
            ref.update(failed)
        raise
    ref.update(finished)
    logger.info(
        "ops command ran",
        extra={"fields": {"commandId": command_id, "status": finished["status"]}},
    )
    return _public(command_id, {**data, **finished})
