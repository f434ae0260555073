"""The Admin tab's study panel through the app's HTTP API (gradio_client, sign-in on): settings, gold file, the
quality table, exclude / include with their effect on exports, study links; annotators are refused."""

import re

import pandas as pd
import pytest
from gradio_client import Client, handle_file

from sparse_feedback.study import assignment, links
from tests.appserver import running_app, small_generation

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def _setup(store):
    store.create_project_from_generation(small_generation(6, 2), "p", overlap=3)
    for who, rating in (("alice", "5"), ("bob", "2")):
        task = assignment.next_task(store, "p", who, "ratings")
        while task is not None:
            _, task = assignment.submit_and_next(store, "p", who, "ratings", task.assignment_id, rating,
                                                 submit_id=task.submit_id)


def test_admin_study_panel_through_the_api(tmp_path):
    with running_app(tmp_path, setup=_setup) as (url, store):
        root = Client(url, auth=("root", "root-pw"), verbose=False)
        message = root.predict("", "p", 4, True, 1.5, api_name="/study_save")
        assert "gold 1 in 4" in message and store.study_settings("p").paired
        items = store.items_frame("p")
        gold = tmp_path / "gold.csv"
        pd.DataFrame([(items.instruction[0], items.input[0], items.responses[0][0], 5)],
                     columns=["instruction", "input", "output", "rating"]).to_csv(gold, index=False)
        assert "Marked **1** ratings tasks as gold" in root.predict("", "p", handle_file(str(gold)),
                                                                   api_name="/study_gold")
        loaded = root.predict("", "p", api_name="/study_load")
        assert loaded[0] == 4 and loaded[1] is True
        quality = loaded[4]
        assert quality["headers"][0] == "annotator"
        rows = {r[0]: r for r in quality["data"]}
        assert set(rows) == {"alice", "bob"}
        assert "gold tasks" in loaded[3] and "2 annotators" in loaded[3]
        fast_n = int((store.study_answers("p")["seconds"] < 1.5).sum())  # answered at once by _setup: all fast
        assert fast_n == 24 and loaded[9].startswith(f"**{fast_n}** answers under 1.5 s")
        assert len(loaded[10]["data"]) == fast_n and {r[0] for r in loaded[10]["data"]} == {"alice", "bob"}
        before = len(store.human_ratings("p"))
        assert "Excluded: bob" in root.predict("", "p", ["bob"], None, api_name="/study_exclude")
        assert len(store.human_ratings("p")) == before - 10  # bob's 12 ratings less the 2 on the gold item
        assert "Included again: bob" in root.predict("", "p", ["bob"], api_name="/study_include")
        assert len(store.human_ratings("p")) == before
        assert store.study_log("p")["action"].tolist()[-2:] == ["exclude", "include"]
        assert set(store.study_log("p")["actor"]) == {"root"}
        made = root.predict("", "p", 3, "CODE9", "", "https://app.example", api_name="/study_link")
        token = re.search(r"study=([A-Za-z0-9_-]+)", made).group(1)
        assert store.study_link(links.token_hash(token)).quota == 3
        assert "revoked" in root.predict("", "p", 1, api_name="/study_revoke")
        assert store.study_link(links.token_hash(token)).revoked

        alice = Client(url, auth=("alice", "alice-pw"), verbose=False)
        with pytest.raises(Exception, match="only an admin"):
            alice.predict("", "p", api_name="/study_load")
        with pytest.raises(Exception, match="only an admin"):
            alice.predict("", "p", ["bob"], None, api_name="/study_exclude")
        assert store.excluded_annotators("p") == {}
