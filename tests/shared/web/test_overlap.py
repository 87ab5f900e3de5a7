"""The session check alongside a read-only handler: the session's verdict always wins."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Request

from shared.core import errors
from shared.web.api import Api, Call, Reply


@dataclass(frozen=True)
class Owner:
    user_id: str

    def confirmed_by(self, principal: Any) -> bool:
        return bool(principal.user_id == self.user_id)


def claim(request: Request) -> Owner | None:
    """The part after the dot, as session tokens carry it."""
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    return Owner(token.split(".", 1)[1]) if "." in token else None


class Sessions:
    """An authenticator whose sessions are `secret.owner` tokens it knows."""

    def __init__(self, *known: str) -> None:
        self.known = set(known)
        self.checked = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def __call__(self, request: Request) -> Owner:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        assert self.release.wait(5), "the handler never let the session check finish"
        self.checked.set()
        if token not in self.known:
            raise errors.Unauthenticated("the session is unknown, expired or revoked")
        return Owner(token.rpartition(".")[2] if "." in token else "legacy")


def serve(api: Api) -> Client:
    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        return api(Request(environ))(environ, start_response)

    return Client(wsgi)


def build(sessions: Sessions, seen: list[str]) -> tuple[Api, Client]:
    api = Api("overlap", auth=sessions, claim=claim)

    @api.route("/v1/things", overlap_auth=True)
    def listing(call: Call) -> Reply:
        seen.append(call.principal.user_id)
        return Reply({"owner": call.principal.user_id})

    @api.route("/v1/things/<thing_id>", overlap_auth=True)
    def get(call: Call) -> Reply:
        raise errors.NotFound(f"thing {call.params['thing_id']!r} does not exist")

    @api.route("/v1/serial")
    def serial(call: Call) -> Reply:
        seen.append(call.principal.user_id)
        return Reply({"owner": call.principal.user_id})

    return api, serve(api)


def get(client: Client, path: str, token: str) -> Any:
    return client.get(path, headers={"Authorization": f"Bearer {token}"})


def test_the_handler_runs_while_the_session_is_checked() -> None:
    sessions, seen = Sessions("s1.usr_a"), []
    api, client = build(sessions, seen)
    # The check waits until the handler has run: in turn, this would never finish.
    sessions.release.clear()
    handler = next(r for r in api.routes.values() if r.path == "/v1/things")
    inner = handler.handler

    def releasing(call: Call) -> Any:
        assert not sessions.checked.is_set()
        sessions.release.set()
        return inner(call)

    handler.handler = releasing
    answer = get(client, "/v1/things", "s1.usr_a")
    assert answer.status_code == 200
    assert answer.get_json() == {"owner": "usr_a"}


def test_a_claim_the_session_does_not_confirm_answers_401_not_the_page() -> None:
    # The known session is s1.usr_a; a token naming usr_b is not a session at all.
    sessions, seen = Sessions("s1.usr_a"), []
    answer = get(build(sessions, seen)[1], "/v1/things", "s1.usr_b")
    assert seen in ([], ["usr_b"])  # the read may have run for the claim ...
    assert answer.status_code == 401  # ... and was never shown
    assert "usr_b" not in answer.get_data(as_text=True)


def test_a_refused_claim_answers_401_without_waiting_for_the_read() -> None:
    sessions = Sessions("s1.usr_a")
    api = Api("overlap", auth=sessions, claim=claim)
    read_started, let_read_finish, read_finished = (threading.Event() for _ in range(3))

    @api.route("/v1/things", overlap_auth=True)
    def listing(call: Call) -> Reply:
        read_started.set()
        let_read_finish.wait(10)  # a long read: the victim's hundred agents
        read_finished.set()
        return Reply({"owner": call.principal.user_id})

    answer = get(serve(api), "/v1/things", "forged.usr_a")
    finished_before_the_answer = read_finished.is_set()
    let_read_finish.set()

    assert answer.status_code == 401
    assert not finished_before_the_answer


def test_a_confirmed_claim_waits_for_the_read_and_answers_it() -> None:
    sessions = Sessions("s1.usr_a")
    api = Api("overlap", auth=sessions, claim=claim)
    session_checked_first = []

    @api.route("/v1/things", overlap_auth=True)
    def listing(call: Call) -> Reply:
        session_checked_first.append(sessions.checked.wait(5))  # both run at once
        return Reply({"owner": call.principal.user_id})

    answer = get(serve(api), "/v1/things", "s1.usr_a")

    assert answer.status_code == 200
    assert answer.get_json() == {"owner": "usr_a"}
    assert session_checked_first == [True]


def test_a_session_of_another_owner_does_not_confirm_the_claim() -> None:
    def other_owner(request: Request) -> Owner:
        return Owner("usr_a")

    api = Api("overlap", auth=other_owner, claim=claim)

    @api.route("/v1/things", overlap_auth=True)
    def listing(call: Call) -> Reply:
        return Reply({"owner": call.principal.user_id})

    answer = get(serve(api), "/v1/things", "s9.usr_b")
    assert answer.status_code == 401


def test_the_session_verdict_wins_over_the_handlers_error() -> None:
    answer = get(build(Sessions("s1.usr_a"), [])[1], "/v1/things/missing", "s1.usr_b")
    assert answer.status_code == 401  # not 404: nothing is learnt from an unconfirmed claim
    answer = get(build(Sessions("s1.usr_a"), [])[1], "/v1/things/missing", "s1.usr_a")
    assert answer.status_code == 404


def test_a_token_without_a_claim_is_checked_before_the_handler() -> None:
    sessions, seen = Sessions("legacy-token"), []
    client = build(sessions, seen)[1]
    assert get(client, "/v1/things", "legacy-token").get_json() == {"owner": "legacy"}
    assert get(client, "/v1/things", "unknown-token").status_code == 401
    assert seen == ["legacy"]  # the unknown token never reached the handler


def test_routes_without_overlap_check_first() -> None:
    sessions, seen = Sessions("s1.usr_a"), []
    assert get(build(sessions, seen)[1], "/v1/serial", "s1.usr_b").status_code == 401
    assert seen == []


@pytest.mark.parametrize(
    ("methods", "claimer"), [(["POST"], claim), (["GET"], None)], ids=["post", "no-claim"]
)
def test_overlap_is_refused_where_it_could_write_or_has_no_claim(
    methods: list[str], claimer: Any
) -> None:
    api = Api("overlap", auth=Sessions(), claim=claimer)
    with pytest.raises(ValueError, match="overlap_auth"):
        api.route("/v1/things", methods=methods, overlap_auth=True)(lambda call: None)
