"""Schemathesis against every HTTP function's own OpenAPI document, in process (WSGI).

The checks: no 5xx, every response matches the status codes, content types and schemas
its document declares, and schema-violating input is refused. Not checked: that every
schema-valid input is accepted, since routes validate more than a JSON schema can say
(known persona names, opaque page tokens, ids that exist).

`make test` tries a bounded number of examples per operation (`FUZZ_EXAMPLES`, 10 by
default); `make fuzz` runs many more.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import E2E_ADMIN_TOKEN
from tests.platform.http_functions import HTTP_ENTRIES, loaded, operators_only
from tests.support.guests import new_guest

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))


# Operations whose valid examples start real work that outlives the request; their input
# validation is covered by their own tests.
NOT_FUZZED = [("POST", "/v1/loadtests/runs")]


# A body that breaks a length limit may also break the body-size limit: 413 refuses it too.
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]
            }
        }
    }
)


def schema_of(entry_name: str) -> Any:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", loaded(entry_name).app, config=CONFIG)
    for method, path in NOT_FUZZED:
        schema = schema.exclude(method=method, path=path)
    return schema


def _make_test(entry_name: str) -> Any:
    schema = schema_of(entry_name)

    @schema.parametrize()
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def test_operation(case: Any, firestore_db: Any) -> None:
        entry = next(e for e in HTTP_ENTRIES if e.name == entry_name)
        headers = (
            {"Authorization": f"Bearer {E2E_ADMIN_TOKEN}"}
            if operators_only(entry)
            else new_guest().headers
        )
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    return test_operation


for _entry in HTTP_ENTRIES:
    globals()[f"test_fuzz_{_entry.name.replace('-', '_')}"] = _make_test(_entry.name)
