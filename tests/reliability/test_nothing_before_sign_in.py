"""Nothing served before sign-in (or to an annotator) names a server path, a project, an evaluated run, a
reward-model directory, a job id or another user: ``/``, ``/config`` and ``/gradio_api/info`` are searched
for the data home and for every such name the store and the data home hold."""

from __future__ import annotations

import pytest

from tests.appserver import USERS, running_app, small_generation
from tests.reliability.rawhttp import queue_call, signed_in

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(180)]
PROJECT = "proj-secret-4b1d"
ROUTES = ("/", "/config", "/gradio_api/info")


def _secrets(home, store) -> set[str]:
    """Every name a stranger must not learn: paths, projects, runs, model folders, job ids, user names."""
    names = {str(home), str(home.resolve()), PROJECT}
    names |= {p.name for p in store.projects()}
    for path in home.rglob("*"):
        if path.is_dir() and path.parent != home:  # a run, a job folder, a reward model
            names.add(path.name)
    jobs = store.jobs()
    names |= {f"job-{i}" for i in jobs["id"]} if len(jobs) else set()
    names |= {u.split(":")[0] for u in USERS.split(",")} - {"alice", "root"}  # alice looks; "root" is a config key
    return {n for n in names if len(n) >= 4}


@pytest.mark.slow
def test_nothing_served_before_sign_in_or_to_an_annotator_names_server_data(tmp_path):
    home, blocks = tmp_path / "home", []
    with running_app(tmp_path, setup=lambda s: s.create_project_from_generation(
            small_generation(2, 3), PROJECT, overlap=1), blocks_out=blocks) as (url, store):
        secrets = _secrets(home, store)
        assert any("best_of_n" in s or "reward" in s or s.startswith("job-") for s in secrets)  # the demo is there
        for who, client in (("signed out", signed_in(url)), ("annotator", signed_in(url, "alice", "alice-pw"))):
            for route in ROUTES:
                r = client.get(route)
                if r.status_code != 200:
                    continue  # refused outright leaks nothing
                found = sorted(s for s in secrets if s in r.text)
                assert found == [], f"{who} {route} names {found}"
        # The choices come after sign-in, to an admin only.
        (fill,) = [i for i, fn in blocks[0].fns.items() if fn.api_name == "best_of_n_choices"]
        as_admin = queue_call(signed_in(url, "root", "root-pw"), fill, [""])
        assert any("demo-ratings-rm" in str(c) for c in as_admin["data"][0]["choices"])
        as_annotator = queue_call(signed_in(url, "alice", "alice-pw"), fill, [""])
        assert as_annotator["success"] and "demo-ratings-rm" not in str(as_annotator["data"])


def _api_info(page: str) -> dict:
    import json
    import re

    match = re.search(r"<script>window\.gradio_api_info = (.*?);</script>", page, re.S)
    assert match, "the page carries no window.gradio_api_info at all"
    return json.loads(match.group(1))


@pytest.mark.slow
def test_the_signed_out_page_describes_no_endpoint(tmp_path):
    blocks = []
    with running_app(tmp_path, blocks_out=blocks) as (url, _):
        names = {fn.api_name for fn in blocks[0].fns.values() if fn.api_name}
        assert {"rate_submit", "whoami"} <= names
        stranger = signed_in(url)
        assert stranger.get("/gradio_api/info").status_code == 401
        page = stranger.get("/")
        assert page.status_code == 200 and "auth_required" in page.text
        assert _api_info(page.text) == {"named_endpoints": {}, "unnamed_endpoints": {}}
        assert [n for n in sorted(names) if f'"/{n}"' in page.text] == []
        assert int(page.headers["content-length"]) == len(page.content)
        # signed in, the page describes the API as Gradio does
        assert "/rate_submit" in _api_info(signed_in(url, "root", "root-pw").get("/").text)["named_endpoints"]
