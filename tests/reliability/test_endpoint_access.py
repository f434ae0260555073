"""Every endpoint checks who is calling. With sign-in on, all of the app's handlers (every ``fn_index`` in the
config, hidden ones included) are called by an anonymous client, by an annotator trying to reach another
annotator's data or an admin action, by a viewer and a researcher (on another project) trying what their role
does not allow, through raw HTTP and through gradio_client; in public demo mode, by an anonymous visitor."""

from __future__ import annotations

import json
import re

import pytest
from gradio_client import Client

from tests.appserver import USERS, running_app, small_generation
from tests.reliability.rawhttp import named_call, queue_call, signed_in

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(180)]
PROJECT = "proj-7c1e"  # distinctive, so a leak of the name is found by a plain text search

TRAIN = {"train_start", "train_stop", "train_show", "train_list", "train_full_log"}  # reward-model jobs
BEST_OF_N = {"best_of_n_start", "best_of_n_stop", "best_of_n_resume", "best_of_n_browse", "best_of_n_show"}  # best-of-n jobs
EXPORT_PREVIEW = {"export_preview", *(f"export_preview_on_{c}" for c in ("what", "source", "format"))}
HUB = {"import_fetch", "export_push", "train_push"}  # fetch from and push to the Hub: admins only
STUDY_ACTIONS = {f"study_{a}" for a in ("save", "gold", "gold_one", "gold_adjudicated", "exclude", "include", "link",
                                        "revoke")}
STUDY = {"study_load", *STUDY_ACTIONS, *(f"{a}_reload" for a in STUDY_ACTIONS)}  # the human-study panel
QUEUE = {"queue_load", "queue_save"}  # the queue strategy section
ADMIN_ONLY = {"import_preview", "import_create", "import_stop", "export", "llm_run", "admin_load", "admin_save", *TRAIN,
              "train_refresh", *BEST_OF_N, "best_of_n_filter", *EXPORT_PREVIEW, *HUB, *STUDY, *QUEUE}
# Fired for everyone (a project change, a timer): a no-op for others.
ADMIN_NOOP = {"export_sources", "admin_on_project", "train_on_project", "train_tick", "best_of_n_status",
              "best_of_n_models", "best_of_n_choices", "export_choices",
              "best_of_n_on_job", "import_stop_after", "import_stop_state", "import_running",
              "export_hub", "study_on_project", "queue_on_project"}
OWN_VIEW = {f"{p}_{e}" for p in ("rate", "rank") for e in ("show", "show_on_name", "on_load", "undo", "myself")}
OWN_HISTORY = {f"{p}_{e}" for p in ("rate", "rank")  # the caller's answers
               for e in ("history", "history_on_open", "history_on_project")}
NOT_YOURS = ({f"rate_submit{s}" for s in ("", "_2", "_3", "_4", "_5", "_6", "_7")}
             | {"rank_submit", "rank_submit_equal", "rank_submit_right", "rate_skip", "rank_skip"}
             | {f"{p}_{e}" for p in ("rate", "rank") for e in ("history_pick", "edit")})  # bob's answer, by id
WHOAMI = {"whoami"}
# What each role may call (the capability of sparse_feedback.ui.access that guards it).
MANAGE = {"import_preview", "import_create", "import_stop", "llm_run", "admin_load", "admin_save", "admin_on_project",
          *HUB, *STUDY, "study_on_project", *QUEUE, "queue_on_project"}
EXPORT = {"export", "export_sources", "export_choices", "export_hub", *EXPORT_PREVIEW}
# A final label for a disagreement: researchers (on their projects) and admins; refused to everyone else.
ADJUDICATE = {"adjudicate"}
VIEW_BON = {"best_of_n_browse", "best_of_n_show", "best_of_n_filter", "best_of_n_status", "best_of_n_on_job"}
JOBS = (TRAIN | BEST_OF_N | {"train_refresh", "train_on_project", "train_tick", "best_of_n_models"}) - VIEW_BON
RESEARCH = {"consistency", "disagreements", "agreement", "bias", "winrates", "winrate_runs"}  # researcher dashboards: admins only
# The dashboards' hidden handlers (project change, paging, row select), found by the module that defines them.
RESEARCH_MODULES = {f"pages.{m}" for m in RESEARCH} | {"pages.research"}
PUBLIC = {"rate_submit", "rate_undo", "rate_skip", "rate_show", "rank_submit", "rank_undo", "rank_skip", "rank_show",
          "import_preview", "import_create", "import_stop", "export", "llm_run", "admin_load", "admin_save", *RESEARCH, *TRAIN,
          *BEST_OF_N, *HUB, *(STUDY - {f"{a}_reload" for a in STUDY_ACTIONS}), *QUEUE, *ADJUDICATE}
# Anonymous routes that carry no app data: the login page and its assets, Gradio's own meta endpoints.
ANONYMOUS_OK = re.compile(r"^/(|login/?|logout|favicon\.ico|theme\.css|robots\.txt|manifest\.json|openapi\.json|"
                          r"svelte/.*|static/.*|assets/.*|pwa_icon.*|monitoring/\{key\}|"
                          r"gradio_api/(user|token|app_id|startup-events|theme\.css|runs|heartbeat/.*|reset|cancel|"
                          r"stream/.*|custom_component/.*|vibe-.*|undo-vibe-edit)/?)$")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """Project ``PROJECT`` where bob has answered one rating and holds an open rating and ranking task; yields
    (url, store, blocks, context): bob's tickets, each handler's default inputs, the dashboards' hidden handlers."""
    blocks = []

    def setup(store):
        store.create_project_from_generation(small_generation(2, 3), PROJECT, overlap=2)
        done = store.next_task(PROJECT, "bob", "ratings")
        store.submit("bob", done.assignment_id, 6, submit_id=done.submit_id)

    users = USERS + ",vic:vic-pw:viewer,res:res-pw:researcher:other-project"
    with running_app(tmp_path_factory.mktemp("access"), users=users, setup=setup, blocks_out=blocks) as (url, store):
        bob_rating, bob_ranking = store.next_task(PROJECT, "bob", "ratings"), store.next_task(PROJECT, "bob", "rankings")
        answered = _bob_row(store)
        tickets = {"done": {"assignment_id": answered["assignment_id"], "submit_id": answered["submit_id"],
                            "task_id": answered["task_id"]},
                   "ratings": _ticket(bob_rating), "rankings": _ticket(bob_ranking), "answer": answered["id"]}
        tickets["defaults"] = _defaults(blocks[0])
        tickets["research_hidden"], tickets["states"] = _research_hidden(blocks[0]), _state_outputs(blocks[0])
        yield url, store, blocks[0], tickets


def _bob_row(store) -> dict:
    from sparse_feedback.store.schema import annotations

    with store.db.read() as conn:
        return dict(conn.execute(annotations.select().where(annotations.c.annotator == "bob")).first()._mapping)


def _ticket(task) -> dict:
    return {"assignment_id": task.assignment_id, "submit_id": task.submit_id, "task_id": task.task_id}


def _handlers(blocks) -> dict[str, int]:
    """Every handler of the app: api_name → fn_index (hidden ones included)."""
    return {d["api_name"]: d["id"] for d in blocks.config["dependencies"]}


def _research_hidden(blocks) -> set[str]:
    """Hidden handlers of the researcher dashboards (not the adjudication, which changes data)."""
    return {d["api_name"] for d in blocks.config["dependencies"] if d["api_name"] not in RESEARCH | ADJUDICATE
            and getattr(blocks.fns[d["id"]].fn, "__module__", "") in RESEARCH_MODULES}


def _state_outputs(blocks) -> dict[str, set[int]]:
    """Each handler's output positions that are ``gr.State`` (server-side: never sent to the client)."""
    states = {c["id"] for c in blocks.config["components"] if c.get("type") == "state"}
    return {d["api_name"]: {i for i, o in enumerate(d["outputs"]) if o in states} for d in blocks.config["dependencies"]}


def _defaults(blocks) -> dict[str, list]:
    """Each handler's inputs at their initial values, the name box empty and the project set: what a
    dashboard button sends."""
    values = {c["id"]: c.get("props", {}).get("value") for c in blocks.config["components"]}
    out = {}
    for d in blocks.config["dependencies"]:
        data = [values.get(i) for i in d["inputs"]]
        out[d["api_name"]] = ["", PROJECT, *data[2:]] if len(data) >= 2 else data
    return out


def _calls(api_name: str, tickets: dict) -> list[list]:
    """What a hostile annotator (alice) sends: bob's name, bob's tickets, admin actions."""
    protocol = "ratings" if api_name.startswith("rate") else "rankings"
    if api_name in NOT_YOURS and "submit" in api_name:
        choice = "5" if protocol == "ratings" else "left"
        return [[PROJECT, "bob", tickets[protocol], choice, "", []], [PROJECT, "bob", tickets["done"], choice, "", []]]
    if api_name.endswith("_history_pick"):
        return [[PROJECT, "bob", tickets["answer"]]]
    if api_name.endswith("_edit"):
        choice = "1" if protocol == "ratings" else "right"
        return [[PROJECT, "bob", tickets["answer"], choice, "hacked", ["harmful"]]]
    return {
        "rate_skip": [[PROJECT, "bob", tickets["ratings"]]], "rank_skip": [[PROJECT, "bob", tickets["rankings"]]],
        "import_preview": [["bob", None, "auto"]], "import_create": [["", None, "auto", "x", 1, "llm"]],
        "export": [["", PROJECT, "ratings", "human", "csv"]], "export_sources": [["", PROJECT]],
        "llm_run": [["", PROJECT, "ratings", "http://127.0.0.1:9/v1", "m", "sk-x", "Live", "auto"]],
        "admin_load": [["", PROJECT]], "admin_on_project": [["", PROJECT]], "admin_save": [["", PROJECT, "hacked", 5]],
        "whoami": [[]],
    }.get(api_name) or ([[PROJECT, "bob"]] if api_name in OWN_VIEW | OWN_HISTORY else [tickets["defaults"][api_name]])


def _check(api_name: str, result: dict, tickets: dict) -> None:
    """The annotator's result: refused, a no-op, or their own view — never bob's or anyone else's data."""
    text = json.dumps(result, ensure_ascii=False)
    assert "bob" not in text and tickets["ratings"]["submit_id"] not in text, (api_name, text)
    assert "Question number" not in text or api_name in OWN_VIEW, (api_name, text)
    if api_name in ADMIN_ONLY | RESEARCH | ADJUDICATE:
        assert not result["success"] and re.search("only (an admin|a researcher|a viewer)", str(result["error"])), \
            (api_name, result)
    elif api_name in NOT_YOURS:
        assert not result["success"], (api_name, result)
        assert re.search("not assigned to you|belongs to someone else|not one of yours", str(result["error"])), \
            (api_name, result)
    elif api_name in OWN_HISTORY:  # their own (empty) list of answers, never bob's
        assert result["success"] and "No answers yet" in result["data"][2], (api_name, result)
    elif api_name in ADMIN_NOOP:
        assert _noop(result, tickets["states"][api_name]), (api_name, result)
    elif api_name in OWN_VIEW:
        assert result["success"] and result["data"][1].startswith("**alice**"), (api_name, result)
    elif api_name in tickets["research_hidden"]:  # refused, or no-op updates for events everyone fires
        refused = not result["success"] and result["error"]
        assert refused or _noop(result, tickets["states"][api_name]), (api_name, result)
    elif api_name in WHOAMI:
        data = result["data"]
        tabs = [u.get("visible") for u in data[3:]]  # Rate and Rank, then every other tab
        assert "**alice** (annotator)" in data[1] and tabs[:2] == [True, True] and not any(tabs[2:]), data
    else:
        raise AssertionError(f"handler {api_name} has no access expectation: add it to this test")


def _unchanged(store) -> None:
    """Nothing of bob's moved or was edited, nothing was imported, guideline intact, no job but the shipped demo,
    alice answered nothing."""
    bob = store.human_ratings(PROJECT, "bob")
    assert bob["rating"].tolist() == [6] and store.human_rankings(PROJECT, "bob").empty
    assert len(store.audit_trail(PROJECT)) == 1 and "hacked" not in store.audit_trail(PROJECT)["comment"].tolist()
    assert store.progress(PROJECT, "bob", "ratings").open == 1 and store.progress(PROJECT, "bob", "rankings").open == 1
    assert [p.name for p in store.projects()] == [PROJECT] and "hacked" not in store.project(PROJECT).guideline
    assert store.project(PROJECT).overlap == 2
    assert store.jobs()[["kind", "status"]].values.tolist() == [["best_of_n", "done"]]  # the shipped demo only
    assert store.human_ratings(PROJECT, "alice").empty and store.human_rankings(PROJECT, "alice").empty


@pytest.mark.slow
def test_every_handler_has_an_access_expectation(app):
    _, _, blocks, _ = app
    names = set(_handlers(blocks))
    assert names == (ADMIN_ONLY | ADMIN_NOOP | OWN_VIEW | OWN_HISTORY | NOT_YOURS | WHOAMI | RESEARCH | ADJUDICATE
                     | _research_hidden(blocks))


@pytest.mark.slow
def test_an_anonymous_client_gets_nothing_from_any_route(app):
    url, store, blocks, _ = app
    anon = signed_in(url)
    for fn_index in _handlers(blocks).values():
        assert queue_call(anon, fn_index, [PROJECT, ""])["status"] in (401, 403)
    for api_name in _handlers(blocks):
        assert named_call(anon, api_name, [PROJECT, ""])["status"] in (401, 403)
    for path, methods in _routes(blocks.server_app.routes):
        if "heartbeat" in path:
            continue  # an event stream that never ends; it carries no data
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        for method in methods:
            body = {"data": [], "fn_index": 0, "session_hash": "x", "event_id": "x"}  # nothing a 422 could echo
            r = anon.request(method, concrete, json=body if method == "POST" else None)
            assert PROJECT not in r.text and "Question number" not in r.text and "alice" not in r.text, (method, path)
            if r.status_code == 200 and not ANONYMOUS_OK.match(path):
                raise AssertionError(f"anonymous {method} {path} answered 200: {r.text[:200]}")
    with pytest.raises(Exception):
        Client(url, verbose=False)
    _unchanged(store)


def _routes(routes, prefix: str = ""):
    for r in routes:
        if hasattr(r, "original_router"):  # an included router (FastAPI ≥ 0.120)
            yield from _routes(r.original_router.routes, prefix + (getattr(r.include_context, "prefix", "") or ""))
        elif hasattr(r, "path"):
            yield prefix + r.path, sorted(set(getattr(r, "methods", None) or ["GET"]) - {"HEAD", "OPTIONS"})


def _every_call(app, api_names, call) -> None:
    """alice sends every hostile call of :func:`_calls` to these handlers through ``call(api_name, data)``
    (which returns ``{success, data, error}``); each answer is checked and nothing in the store moved."""
    _, store, _, tickets = app
    for api_name in api_names:
        for data in _calls(api_name, tickets):
            _check(api_name, call(api_name, data), tickets)
    _unchanged(store)


@pytest.mark.slow
def test_an_annotator_reaches_only_their_own_data_through_queue_join(app):
    alice, handlers = signed_in(app[0], "alice", "alice-pw"), _handlers(app[2])
    _every_call(app, handlers, lambda api_name, data: queue_call(alice, handlers[api_name], data))


@pytest.mark.slow
def test_an_annotator_reaches_only_their_own_data_through_named_calls(app):
    alice = signed_in(app[0], "alice", "alice-pw")

    def call(api_name, data):
        result = named_call(alice, api_name, data)
        # Hidden handlers are left out of the API description and gradio_client, but the page itself
        # calls them over HTTP, so they answer here too: with the same checks as the public ones.
        assert result["status"] == 200, (api_name, result)
        return result

    _every_call(app, _handlers(app[2]), call)


@pytest.mark.slow
def test_an_annotator_reaches_only_their_own_data_through_gradio_client(app):
    alice = Client(app[0], auth=("alice", "alice-pw"), verbose=False)

    def call(api_name, data):
        try:
            return {"success": True, "data": list(alice.predict(*data, api_name=f"/{api_name}")), "error": None}
        except Exception as err:
            return {"success": False, "data": None, "error": str(err)}

    _every_call(app, sorted(PUBLIC), call)


@pytest.mark.slow
def test_hidden_handlers_are_not_in_the_public_api(app):
    url, _, blocks, _ = app
    alice = Client(url, auth=("alice", "alice-pw"), verbose=False)
    listed = {name.lstrip("/") for name in alice.view_api(print_info=False, return_format="dict")["named_endpoints"]}
    assert listed == PUBLIC
    for hidden in set(_handlers(blocks)) - PUBLIC:
        with pytest.raises(Exception):
            alice.predict(PROJECT, "bob", api_name=f"/{hidden}")


def _noop(result, states: set[int]) -> bool:
    """Only no-op updates; a ``gr.State`` output (at a position in ``states``) always reads null on the wire."""
    return result["success"] and all(set(u or ()) == {"__type__"} or (u is None and i in states)
                                     for i, u in enumerate(result["data"] or []))


def _check_role(api_name: str, result: dict, tickets: dict, allowed: set, visitor: bool = False) -> None:
    """A viewer, a researcher kept off this project, or a public visitor: what the role does not allow is refused
    (or a no-op for events everyone fires); bob's answers and tickets never show."""
    text = json.dumps(result, ensure_ascii=False)
    assert tickets["ratings"]["submit_id"] not in text, (api_name, text)
    refused = not result["success"] and re.search("only (an admin|a researcher|a viewer|a signed-in)|not one of yours|"
                                                  "not part of the public demo", str(result["error"]))
    if api_name in NOT_YOURS:
        assert not result["success"], (api_name, result)
    elif api_name in OWN_VIEW:
        shown = result["data"][1] if result["success"] else ""
        assert refused or (visitor and shown.startswith("**visitor-")) or "only a signed-in annotator" in shown, \
            (api_name, result)
    elif api_name in OWN_HISTORY:  # a visitor's own sandbox answers (none yet); others may not annotate at all
        assert refused or (visitor and "No answers yet" in result["data"][2]) or (
            api_name.endswith("_on_project") and _noop(result, tickets["states"][api_name])), (api_name, result)  # an event everyone fires
    elif api_name in WHOAMI:
        assert result["success"], result
    elif api_name in allowed:
        assert not refused, (api_name, result)
    else:
        assert refused or _noop(result, tickets["states"][api_name]), (api_name, result)


VIEWER_ALLOWED = RESEARCH | VIEW_BON | {"best_of_n_choices"}  # job lists to view


@pytest.mark.slow
def test_a_viewer_sees_dashboards_and_changes_nothing(app):
    url, store, blocks, tickets = app
    vic = signed_in(url, "vic", "vic-pw")
    for api_name, fn_index in _handlers(blocks).items():
        for data in _calls(api_name, tickets):
            allowed = VIEWER_ALLOWED | tickets["research_hidden"]
            _check_role(api_name, queue_call(vic, fn_index, data), tickets, allowed)
    _unchanged(store)


@pytest.mark.slow
def test_a_researcher_is_kept_off_projects_not_given(app):
    url, store, blocks, tickets = app
    res = signed_in(url, "res", "res-pw")
    for api_name, fn_index in _handlers(blocks).items():
        if api_name not in RESEARCH | ADJUDICATE | {"export", "train_start"}:
            continue  # the others take no project (a best-of-n job on the built-in instructions is theirs to start)
        for data in _calls(api_name, tickets):
            result = queue_call(res, fn_index, data)
            assert not result["success"] and "not one of yours" in str(result["error"]), (api_name, result)
    _unchanged(store)


@pytest.fixture(scope="module")
def public_app(tmp_path_factory):
    """The public demo: no accounts, PROJECT is the demo project; bob's answer is real data."""
    blocks = []

    def setup(store):
        store.create_project_from_generation(small_generation(2, 3), PROJECT, overlap=2)
        store.create_project_from_generation(small_generation(1, 2), "private-project")
        done = store.next_task(PROJECT, "bob", "ratings")
        store.submit("bob", done.assignment_id, 6, submit_id=done.submit_id)

    env = {"SPARSE_FEEDBACK_PUBLIC": "1", "SPARSE_FEEDBACK_PUBLIC_PROJECTS": PROJECT}
    with running_app(tmp_path_factory.mktemp("public"), users=None, setup=setup, blocks_out=blocks,
                     extra_env=env) as (url, store):
        bob_rating, bob_ranking = store.next_task(PROJECT, "bob", "ratings"), store.next_task(PROJECT, "bob", "rankings")
        answered = _bob_row(store)
        tickets = {"done": {"assignment_id": answered["assignment_id"], "submit_id": answered["submit_id"],
                            "task_id": answered["task_id"]},
                   "ratings": _ticket(bob_rating), "rankings": _ticket(bob_ranking), "answer": answered["id"],
                   "defaults": _defaults(blocks[0]), "research_hidden": _research_hidden(blocks[0]),
                   "states": _state_outputs(blocks[0])}
        yield url, store, blocks[0], tickets


@pytest.mark.slow
def test_a_public_visitor_browses_and_annotates_only_in_a_sandbox(public_app):
    url, store, blocks, tickets = public_app
    visitor = signed_in(url)
    for api_name, fn_index in _handlers(blocks).items():
        for data in _calls(api_name, tickets):
            _check_role(api_name, queue_call(visitor, fn_index, data), tickets,
                        VIEWER_ALLOWED | tickets["research_hidden"], visitor=True)
    # The visitor's own answer lands in the sandbox copy, never in the demo project's data.
    fns = _handlers(blocks)
    session = "visitor-session-1"
    shown = queue_call(visitor, fns["rate_show"], [PROJECT, ""], session=session)
    ticket = shown["data"][5]
    answered = queue_call(visitor, fns["rate_submit"], [PROJECT, "", ticket, "4", "a note", ["unclear"]],
                          session=session)
    assert answered["success"], answered
    sandbox = PROJECT + " (sandbox)"
    assert store.human_ratings(sandbox)[["rating", "comment", "flags"]].values.tolist() == [[4, "a note", "unclear"]]
    assert store.human_ratings(PROJECT)["annotator"].tolist() == ["bob"]
    # Their history lists that sandbox answer; an edit stays in the sandbox as a new version.
    mine = queue_call(visitor, fns["rate_history"], [PROJECT, ""], session=session)
    (choice,) = mine["data"][1]["choices"]
    edited = queue_call(visitor, fns["rate_edit"], [PROJECT, "", choice[1], "2", "changed", []], session=session)
    assert edited["success"] and "version 2" in edited["data"][0], edited
    assert store.human_ratings(sandbox)["rating"].tolist() == [2] and len(store.audit_trail(sandbox)) == 2
    assert len(store.audit_trail(PROJECT)) == 1
    refused = queue_call(visitor, fns["consistency"], tickets["defaults"]["consistency"][:1] + ["private-project"]
                         + tickets["defaults"]["consistency"][2:])
    assert not refused["success"] and "not one of yours" in str(refused["error"]), refused
    assert store.jobs()[["kind", "status"]].values.tolist() == [["best_of_n", "done"]]
