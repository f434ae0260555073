"""Hostile clients against the signed-in app: unbounded fields are refused before any work with one clear
line; failed sign-ins are throttled (429 + Retry-After); internal failures reach the client as one plain
line with a reference id, the details only in the server log; handlers check access before input."""

from __future__ import annotations

import logging
import time

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from tests.appserver import running_app, small_generation
from tests.reliability.rawhttp import named_call, queue_call, signed_in

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(180)]
INTERNALS = ("sqlalche", "SELECT", "sqlite3", "Traceback", "NoneType", "OperationalError", "psycopg")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    blocks = []
    with running_app(tmp_path_factory.mktemp("hostile"), setup=lambda s: s.create_project_from_generation(
            small_generation(2, 3), "p", overlap=2), blocks_out=blocks) as (url, store):
        yield url, store, blocks[0]


def _clean(error) -> str:
    """The message the client was shown, checked to carry no internals."""
    text = error.get("error", "") if isinstance(error, dict) else str(error)
    assert not any(word in text for word in INTERNALS), text
    assert "\n" not in text.strip()
    return text


def _ticket(client) -> dict:
    return named_call(client, "rate_show", ["p", ""])["data"][5]


@pytest.mark.slow
def test_an_oversized_or_odd_submit_id_is_refused_and_nothing_is_stored(app):
    url, store, _ = app
    alice = signed_in(url, "alice", "alice-pw")
    for bad in ("x" * 101, "a\x00b", "x" * 2_000_000):
        result = named_call(alice, "rate_submit", ["p", "", {**_ticket(alice), "submit_id": bad}, "5", "", []])
        assert not result["success"] and "submit id" in _clean(result["error"])
    assert store.human_ratings("p", "alice").empty
    ok = named_call(alice, "rate_submit", ["p", "", _ticket(alice), "5", "", []])
    assert ok["success"] and len(store.human_ratings("p", "alice")) == 1


@pytest.mark.slow
def test_project_names_are_bounded_and_printable(app):
    url, store, _ = app
    root = signed_in(url, "root", "root-pw")
    for bad, says in (("p" * 100_000, "too long"), ("bad\x00name", "control characters")):
        result = named_call(root, "import_create", ["", None, "auto", bad, 1, "llm"])
        assert not result["success"] and says in _clean(result["error"])
    result = named_call(root, "import_create", ["", None, "auto", "fine", 1, "m" * 5000])
    assert not result["success"] and "LLM source name is too long" in _clean(result["error"])
    alice = signed_in(url, "alice", "alice-pw")
    for bad in ([1, 2], {"x": 1}, "p" * 100_000, "p\x00"):
        result = named_call(alice, "rate_show", [bad, ""])
        assert not result["success"] and "project" in _clean(result["error"])
    assert [p.name for p in store.projects()] == ["p"]


@pytest.mark.slow
def test_a_failing_database_gives_one_line_with_a_reference_and_logs_the_details(app, monkeypatch, caplog):
    url, store, _ = app
    bob = signed_in(url, "bob", "bob-pw")
    ticket = _ticket(bob)

    def read_only(*args, **kwargs):
        raise OperationalError("INSERT INTO annotations ...", {}, Exception("disk I/O error"))

    monkeypatch.setattr(store, "submit_and_next", read_only)
    with caplog.at_level(logging.ERROR, logger="sparse_feedback.app"):
        result = named_call(bob, "rate_submit", ["p", "", ticket, "4", "", []])
    error = _clean(result["error"])
    assert error.startswith("could not save your answer; it was not recorded — try again (reference ")
    ref = error.rsplit(" ", 1)[-1].rstrip(")")
    logged = "\n".join(r.getMessage() + str(r.exc_info) for r in caplog.records)
    assert ref in logged and "disk I/O error" in logged


@pytest.mark.slow
def test_the_hidden_row_select_checks_access_before_reading_its_event(app):
    url, _, blocks = app
    (index,) = [i for i, fn in blocks.fns.items() if getattr(fn.fn, "__name__", "") == "on_select"]
    filters = ["", "p", None, None, "", 0, 1, *[c.value for c in blocks.fns[index].inputs[7:]]]  # later: defaults
    alice = signed_in(url, "alice", "alice-pw")
    result = queue_call(alice, index, filters)
    assert not result["success"] and "only a viewer, a researcher or an admin" in _clean(result["error"])
    root = signed_in(url, "root", "root-pw")
    result = queue_call(root, index, filters)
    assert not result["success"] and "choose a row" in _clean(result["error"])


def _login(url, user, password) -> httpx.Response:
    return httpx.post(url + "login", data={"username": user, "password": password}, timeout=30)


@pytest.mark.slow
def test_failed_sign_ins_back_off_with_429_and_the_right_password_works_after_the_wait(tmp_path):
    with running_app(tmp_path) as (url, _):
        first = [_login(url, "alice", f"wrong{i}").status_code for i in range(5)]
        assert first == [400] * 5
        locked = _login(url, "alice", "alice-pw")  # even the right password waits: nothing is checked
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) >= 1
        nobody = _login(url, "nobody", "x")  # the address is throttled too, with the same words
        assert nobody.status_code == 429
        strip = lambda r: r.json()["detail"].split(" in ")[0]  # noqa: E731
        assert strip(nobody) == strip(locked)
        time.sleep(int(locked.headers["Retry-After"]) + 0.2)
        assert _login(url, "alice", "alice-pw").status_code == 200
        assert _login(url, "bob", "wrong").status_code == 400  # the address's 6th failure: the wait doubles
        again = _login(url, "bob", "bob-pw")
        assert again.status_code == 429 and int(again.headers["Retry-After"]) == 2


def test_a_malformed_value_is_refused_in_the_projects_words_not_gradios(app):
    from sparse_feedback.ui.failures import MALFORMED_VALUE

    url, _, blocks = app
    alice = signed_in(url, "alice", "alice-pw")
    ticket = _ticket(alice)
    number = next(i for i, fn in blocks.fns.items() if any(type(c).__name__ == "Number" for c in fn.inputs))
    number_inputs = [("not a number" if type(c).__name__ == "Number" else None) for c in blocks.fns[number].inputs]
    calls = {
        "a flag the form does not offer": named_call(alice, "rate_submit", ["p", "", ticket, "5", "", ["bogus"]]),
        "flags of the wrong type": named_call(alice, "rate_submit", ["p", "", ticket, "5", "", 12]),
        "a number that is not one": queue_call(signed_in(url, "root", "root-pw"), number, number_inputs),
    }
    for what, result in calls.items():
        assert not result["success"], what
        assert _clean(result["error"]) == MALFORMED_VALUE, (what, result["error"])
    assert named_call(alice, "rate_submit", ["p", "", ticket, "5", "", []])["success"]  # a valid one still works


def test_an_unreadable_request_body_is_refused_in_the_projects_words_not_pydantics(app):
    url, _, _ = app
    root = signed_in(url, "root", "root-pw")
    answers = {
        "queue": root.post("/gradio_api/queue/join", json={"data": "x", "fn_index": "abc", "session_hash": 5}),
        "call": root.post("/gradio_api/call/rate_submit", json={"data": 5}),
        "sign-in": httpx.post(url + "login", json={"username": "json-nobody", "password": "x"}, timeout=30),
    }
    for route, r in answers.items():
        assert r.status_code == 422, route
        detail = r.json()["detail"]
        assert isinstance(detail, str) and detail.startswith("the request is malformed ("), (route, detail)
        assert not any(word in r.text for word in ("Input should", "_type", "int_parsing", "missing", "msg")), r.text
    assert "data" in answers["call"].json()["detail"]
    assert "fn_index" in answers["queue"].json()["detail"]
