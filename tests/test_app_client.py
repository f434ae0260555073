"""The app through its HTTP API (gradio_client), with sign-in on: submit, undo, skip, overlap, import, access."""

import httpx
import pytest
from gradio_client import Client, handle_file

from sparse_feedback import formats
from tests.appserver import running_app, small_generation

pytestmark = pytest.mark.timeout(120)


def _setup(store):
    store.create_project_from_generation(small_generation(2, 3), "p", overlap=2)
    store.import_llm_ratings("p", formats.rating_tasks(store.items_frame("p")).rename(columns={"response": "output"})
                             .assign(rating=4), "judge-x")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("app"), setup=_setup) as (url, store):
        yield url, store


def client(url, who):
    return Client(url, auth=(who, f"{who}-pw"), verbose=False)


def ratings_csv(folder, *rows):
    """A ratings feedback CSV with these rows."""
    path = folder / "ratings.csv"
    path.write_text("\n".join(["instruction,input,output,rating", *rows]) + "\n")
    return path


@pytest.mark.slow
def test_unauthenticated_or_wrong_password_client_gets_nothing(server):
    url, _ = server
    with pytest.raises(Exception):
        Client(url, verbose=False)
    with pytest.raises(Exception):
        Client(url, auth=("alice", "wrong"), verbose=False)
    for path in ("/gradio_api/info", "/config", "/gradio_api/call/rate_show"):
        r = httpx.post(url.rstrip("/") + path, json={"data": ["p", ""]}) if "call" in path else httpx.get(url.rstrip("/") + path)
        assert r.status_code in (401, 403), (path, r.status_code)


@pytest.mark.slow
def test_submit_is_stored_once_even_when_repeated(server):
    url, store = server
    c = client(url, "alice")
    view = c.predict("p", "", api_name="/rate_show")
    ticket = view[5]
    after = c.predict("p", "", ticket, "6", api_name="/rate_submit")
    again = c.predict("p", "", ticket, "6", api_name="/rate_submit")  # a retry with the same submit id
    rows = store.human_ratings("p", "alice")
    assert len(rows) == 1 and rows["rating"].tolist() == [6]
    assert "LLM (judge-x):** 4/7" in after[6] and "You:** 6/7" in after[6]  # human vs LLM side by side
    assert after[5]["task_id"] != ticket["task_id"] and again[5]["assignment_id"] == after[5]["assignment_id"]


@pytest.mark.slow
def test_undo_withdraws_the_last_answer_and_shows_it_again(server):
    url, store = server
    c = client(url, "bob")
    ticket = c.predict("p", "", api_name="/rate_show")[5]
    c.predict("p", "", ticket, "3", api_name="/rate_submit")
    assert len(store.human_ratings("p", "bob")) == 1
    view = c.predict("p", "", api_name="/rate_undo")
    assert view[5]["task_id"] == ticket["task_id"] and view[5]["submit_id"] != ticket["submit_id"]
    assert len(store.human_ratings("p", "bob")) == 0
    c.predict("p", "", view[5], "4", api_name="/rate_submit")
    assert store.human_ratings("p", "bob")["rating"].tolist() == [4]


@pytest.mark.slow
def test_skip_moves_on_and_never_returns_the_task(server):
    url, store = server
    c = client(url, "carol")
    first = c.predict("p", "", api_name="/rank_show")[6]
    nxt = c.predict("p", "", first, api_name="/rank_skip")[6]
    assert nxt["task_id"] != first["task_id"]
    assert store.progress("p", "carol", "rankings").skipped == 1


@pytest.mark.slow
def test_identity_comes_from_sign_in_not_from_fields(server):
    url, store = server
    alice, bob = client(url, "alice"), client(url, "bob")
    ticket = alice.predict("p", "", api_name="/rank_show")[6]
    with pytest.raises(Exception, match="not assigned to you"):
        bob.predict("p", "alice", ticket, "left", api_name="/rank_submit")
    view = bob.predict("p", "alice", api_name="/rank_show")  # a typed name is ignored when sign-in is on
    assert view[1].startswith("**bob**")
    assert store.human_rankings("p", "alice").empty


@pytest.mark.slow
def test_annotators_cannot_call_admin_actions(server, tmp_path):
    url, store = server
    c, bad = client(url, "alice"), ratings_csv(tmp_path, "q,,a,5")
    for args, api in ((("", handle_file(str(bad)), "auto", "new", 1, "llm"), "/import_create"),
                      (("", "p", "ratings", "human", "csv"), "/export"),
                      (("", "p", "hacked", 1), "/admin_save"), (("", "p"), "/admin_load")):
        with pytest.raises(Exception, match="only (an admin|a researcher or an admin)"):
            c.predict(*args, api_name=api)
    assert [p.name for p in store.projects()] == ["p"] and "hacked" not in store.project("p").guideline


@pytest.mark.slow
def test_assignment_overlap_each_task_to_k_distinct_annotators(tmp_path):
    def setup(store):
        store.create_project_from_generation(small_generation(2, 3), "k2", overlap=2)

    with running_app(tmp_path, setup=setup) as (url, store):
        for who in ("alice", "bob", "carol"):
            c = client(url, who)
            view = c.predict("k2", "", api_name="/rate_show")
            while view[5]:
                view = c.predict("k2", "", view[5], "5", api_name="/rate_submit")
        done = store.human_ratings("k2")
        per_task = done.groupby(["item", "response_index"])["annotator"].agg(list)
        assert len(per_task) == 6 and all(len(a) == 2 and len(set(a)) == 2 for a in per_task)
        counts = done["annotator"].value_counts()
        assert counts.max() - counts.min() <= 2  # balanced: 12 answers over 3 people


@pytest.mark.slow
def test_bad_import_shows_the_readers_error_and_imports_nothing(server, tmp_path):
    url, store = server
    admin, bad = client(url, "root"), ratings_csv(tmp_path, "q1,,a,5", "q2,,b,9")
    message, _ = admin.predict("", handle_file(str(bad)), "auto", "broken", 1, "llm", api_name="/import_create")
    assert "error" in message.lower() and "line 3" in message and "'rating'" in message
    assert "broken" not in [p.name for p in store.projects()]
    good = tmp_path / "gen.json"
    formats.write_json([{"instruction": "hi", "input": "", "responses": ["a", "b", "c"]}], good)
    message, _ = admin.predict("", handle_file(str(good)), "auto", "fresh", 1, "llm", api_name="/import_create")
    assert "Created" in message and store.project("fresh").n_pair_tasks == 3


@pytest.mark.slow
def test_admin_exports_feedback_in_the_original_format(server):
    url, store = server
    admin = client(url, "root")
    message, path = admin.predict("", "p", "ratings", "llm", "csv", api_name="/export")
    frame = formats.read_rating_feedback(path)
    assert len(frame) == 6 and set(frame["rating"]) == {4}
