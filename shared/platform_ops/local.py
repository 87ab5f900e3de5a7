"""The operator tools on the stack `make run` started, through its control endpoint
(infra/local/control.py, `PLATFORM_LOCAL_STACK_URL`, the ADMIN_TOKEN bearer).

What is real here: each function's process (its pid, whether it runs, when it started:
a process start is a local revision, `chat-local-00002`), the gateway's figures for the
requests it relayed (requests, 5xx, p95; Pub/Sub pushes go straight to their function
and are not counted), the processes' output as log entries, and a restart that stops a
function's process and starts it again on the same port. Two things have no local
equivalent and say so: scaling (one process per function, whatever its bounds) and
rolling back (the working tree is the only revision there is).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import httpx

from shared.core import errors
from shared.core.settings import get_settings
from shared.platform_ops.models import (
    Change,
    FunctionStatus,
    Instances,
    LogEntry,
    LogQuery,
    LogReport,
    RevisionRecord,
    StatusReport,
    TrafficShare,
)
from shared.platform_ops.settings import PlatformSettings, bounds_of

READ_SECONDS = 10.0
# A restarted function imports its code again: seconds on a busy laptop.
RESTART_SECONDS = 120.0
NO_LOCAL_SCALE = (
    "no local equivalent: `make run` runs one process per function whatever its bounds; "
    "scale_function changes the instances of a deployment's Cloud Run service"
)
NO_LOCAL_ROLLBACK = (
    "no local equivalent: `make run` serves the code of this working tree and keeps no "
    "earlier revision to go back to; rollback_function moves a deployment's traffic to its "
    "previous ready Cloud Run revision"
)
ONE_PROCESS = "make run runs one process per function"


class LocalAdapter:
    source = "local-stack"

    def __init__(self, settings: PlatformSettings) -> None:
        self.settings = settings

    def _call(
        self, method: str, path: str, params: dict[str, Any], timeout: float = READ_SECONDS
    ) -> Any:
        url = self.settings.local_stack_url
        token = get_settings().admin_token
        if not url or token is None:
            raise errors.Unprocessable(
                "no local stack to act on: the operator tools act on the stack `make run` "
                "started, with ADMIN_TOKEN set (it sets PLATFORM_LOCAL_STACK_URL)"
            )
        try:
            answer = httpx.request(
                method,
                url.rstrip("/") + path,
                params=params,
                headers={"Authorization": f"Bearer {token.get_secret_value()}"},
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            raise errors.DependencyUnavailable(
                f"the local stack's control endpoint did not answer ({type(exc).__name__}): "
                "is `make run` still running?"
            ) from None
        if answer.status_code >= 400:
            try:
                message = str(answer.json()["error"]["message"])
            except (ValueError, KeyError, TypeError):
                message = answer.text[:200]
            if answer.status_code >= 500:
                raise errors.DependencyUnavailable(f"the local stack: {message}")
            raise errors.for_status(answer.status_code)(f"the local stack: {message}")
        return answer.json()

    def status(self, names: list[str], minutes: int) -> StatusReport:
        views = {
            v["name"]: v for v in self._call("GET", "/functions", {"minutes": minutes})["functions"]
        }
        report = []
        for name in names:
            bounds = bounds_of(name)
            view = views.get(name)
            manifest = Instances(
                min_instances=bounds.min_instances, max_instances=bounds.max_instances
            )
            if view is None:
                report.append(
                    FunctionStatus(
                        function=name,
                        instances=Instances(),
                        manifest=manifest,
                        note="the local stack does not run it",
                    )
                )
                continue
            revision = view.get("revision")
            running = bool(view.get("running")) and not view.get("restarting")
            notes = [ONE_PROCESS]
            if view.get("restarting"):
                notes.append("restarting now")
            elif not view.get("running"):
                notes.append("its process is not running")
            if view.get("requests") is None:
                notes.append("Pub/Sub pushes bypass the gateway: requests are not counted")
            report.append(
                FunctionStatus(
                    function=name,
                    serving_revision=revision,
                    traffic=[TrafficShare(revision=revision, percent=100)] if revision else [],
                    ready=running,
                    instances=Instances(min_instances=1, max_instances=1),
                    manifest=manifest,
                    requests=view.get("requests"),
                    errors_5xx=view.get("errors5xx"),
                    p95_ms=view.get("p95Ms"),
                    cold_starts=view.get("coldStarts"),
                    note="; ".join(notes),
                )
            )
        return StatusReport(source=self.source, minutes=minutes, functions=report)

    def logs(self, query: LogQuery) -> LogReport:
        params: dict[str, Any] = {
            "function": list(query.functions),
            "severity": query.severity,
            "minutes": query.minutes,
            "limit": query.limit,
        }
        if query.text:
            params["text"] = query.text
        found = self._call("GET", "/logs", params)["entries"]
        shown = " ".join(
            [
                f"function={','.join(query.functions) or 'all'}",
                f"severity>={query.severity}",
                f"minutes={query.minutes}",
                *([f"text={query.text!r}"] if query.text else []),
                f"limit={query.limit}",
            ]
        )
        return LogReport(
            source=self.source,
            query=shown,
            entries=[LogEntry.model_validate(entry) for entry in found],
        )

    def restart(self, name: str) -> Change:
        bounds_of(name)
        # A function restarting itself cannot wait for its own process to stop: the stack
        # restarts it once this request has been answered.
        itself = os.environ.get("K_SERVICE") == name
        answer = self._call(
            "POST",
            f"/functions/{name}/restart",
            {"wait": "0" if itself else "1"},
            timeout=RESTART_SECONDS,
        )
        note = None
        if itself:
            note = "this function restarts itself once it has answered; it serves again in seconds"
        elif not answer.get("ready"):
            note = "its new process did not answer in time; function_logs shows why"
        return Change(
            function=name,
            action="restart",
            previous_revision=answer.get("previousRevision"),
            revision=answer.get("revision"),
            ready=bool(answer.get("ready")),
            seconds=float(answer.get("seconds") or 0.0),
            note=note,
        )

    def scale(self, name: str, min_instances: int | None, max_instances: int | None) -> Change:
        bounds_of(name)
        raise errors.Unprocessable(NO_LOCAL_SCALE)

    def rollback(self, name: str) -> Change:
        bounds_of(name)
        raise errors.Unprocessable(NO_LOCAL_ROLLBACK)

    def revisions(self, names: list[str], since: datetime) -> list[RevisionRecord]:
        minutes = max(1, int((datetime.now(UTC) - since).total_seconds() // 60) + 1)
        found = self._call("GET", "/revisions", {"minutes": minutes})["revisions"]
        records = [RevisionRecord.model_validate(item) for item in found]
        return [r for r in records if r.function in names and r.created_at >= since]
