from __future__ import annotations

from typing import Any

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from shared.core import errors
from shared.identity.auth import authenticate_operator


def request_with(authorization: str) -> Request:
    return Request(EnvironBuilder(headers={"Authorization": authorization}).get_environ())


@pytest.mark.parametrize("header", ["Bearer wrong", "Bearer é", "Basic x", ""])
def test_operator_routes_refuse_other_tokens_with_401(header: str) -> None:
    with pytest.raises(errors.Unauthenticated):
        authenticate_operator(request_with(header))


def test_operator_token_is_admitted() -> None:
    from tests.conftest import E2E_ADMIN_TOKEN

    assert authenticate_operator(request_with(f"Bearer {E2E_ADMIN_TOKEN}")).via == "token"


def test_iam_operator_auth_admits_through_cloud_run_iam(settings: Any) -> None:
    settings(OPERATOR_AUTH="iam", ADMIN_TOKEN=None)

    assert authenticate_operator(request_with("")).via == "iam"


def test_the_operator_token_may_follow_extra_spaces() -> None:
    from tests.conftest import E2E_ADMIN_TOKEN

    assert authenticate_operator(request_with(f"Bearer  {E2E_ADMIN_TOKEN}")).via == "token"
