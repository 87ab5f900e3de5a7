"""The current request's deadline as the code below the edge sees it."""

from __future__ import annotations

import pytest

from shared.core import deadline


def test_outside_a_request_there_is_no_deadline_and_writes_are_open() -> None:
    assert deadline.remaining() is None
    assert not deadline.passed()
    deadline.check_open("a write")


def test_a_deadline_given_up_refuses_writes_until_lifted() -> None:
    late = deadline.Deadline.after(5)
    token = deadline.bind(late)
    try:
        left = deadline.remaining()
        assert left is not None and 4 < left <= 5
        deadline.check_open("a write")  # still open: the edge has not given up
        late.give_up()
        with pytest.raises(deadline.DeadlinePassed) as refused:
            deadline.check_open("a write")
        with deadline.lifted():
            deadline.check_open("a record of the failure")
        assert deadline.passed()
    finally:
        deadline.unbind(token)

    assert refused.value.status == 503
    assert refused.value.headers() == {"Retry-After": "1"}


def test_a_deadline_answered_in_time_no_longer_bounds_what_runs_after() -> None:
    answered = deadline.Deadline.after(0)
    answered.answer_in_time()
    token = deadline.bind(answered)
    try:
        assert deadline.remaining() is None
    finally:
        deadline.unbind(token)
