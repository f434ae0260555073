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
