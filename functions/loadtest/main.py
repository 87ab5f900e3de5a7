"""Load tests for operators: run a scenario against the platform, list and read the runs.

Cloud Scheduler calls `POST /v1/loadtests/runs` with an OIDC token in production; the
answer comes when the (bounded) run is over. Runs are judged against SLOs and previous
runs, stored in `loadtest_runs` and announced on `loadtest-results`.
"""

from __future__ import annotations

import functions_framework
from flask import Request
from werkzeug.wrappers import Response

from shared.core import log
from shared.identity.auth import authenticate_operator
from shared.loadtest import runs as loadtest_runs
from shared.loadtest.runs import (
    LoadtestRunCreate,
    LoadtestRunListQuery,
    LoadtestRunPage,
    LoadtestRunPublic,
)
from shared.web.api import Api, Call

log.configure("loadtest")
# Fail at start, not on the first run, when a LOADTEST_* setting is wrong.
loadtest_runs.get_loadtest_settings()
api = Api("loadtest", auth=authenticate_operator).serve_framework_errors()


@api.route(
    "/v1/loadtests/runs",
    methods=["POST"],
    body=LoadtestRunCreate,
    response=LoadtestRunPublic,
    status=201,
    errors=[409, 422],
    deadline=loadtest_runs.run_deadline_seconds,  # the longest run allowed, and more
    tags=["loadtests"],
)
def create_run(call: Call) -> LoadtestRunPublic:
    """Run a scenario now (bounded in time and requests) and answer with its results."""
    return loadtest_runs.start_run(call.body)


@api.route(
    "/v1/loadtests/runs",
    query=LoadtestRunListQuery,
    response=LoadtestRunPage,
    tags=["loadtests"],
)
def list_runs(call: Call) -> LoadtestRunPage:
    """The latest runs, newest first, optionally of one scenario."""
    return loadtest_runs.list_runs(call.query)


@api.route(
    "/v1/loadtests/runs/<run_id>",
    response=LoadtestRunPublic,
    errors=[404],
    tags=["loadtests"],
)
def get_run(call: Call) -> LoadtestRunPublic:
    """One run with its per-endpoint figures, verdict and regression check."""
    return loadtest_runs.get_run(call.params["run_id"])


@functions_framework.http
def loadtest(request: Request) -> Response:
    return api(request)
