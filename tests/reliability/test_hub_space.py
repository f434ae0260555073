"""Issue 22 on a (simulated) Space: the admin's Hub push uses the signed-in Hugging Face user's own token, the
Import tab fetches a Hub dataset, and a Space without persistent storage says so in its log and on the page.

``python app.py`` runs as a process with the variables a Space sets and ``HF_ENDPOINT`` naming the fake Hub;
no ``HF_TOKEN``: the only token the fake accepts is the one in the OAuth session."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from sparse_feedback import formats
from sparse_feedback.formats.cards import DATA_PATH
from sparse_feedback.formats.hub import parquet_bytes
from sparse_feedback.store import Store
from tests.appserver import small_generation
from tests.fake_hub import FakeHub
from tests.hub_fixtures import RANKINGS
from tests.reliability.appproc import AppProcess
from tests.reliability.test_oauth_access import SPACE_ENV, call, caller

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(240)]
OAUTH_TOKEN = "hf_oauth_write_token"


@pytest.mark.slow
def test_on_a_space_the_push_uses_the_signed_in_users_token_and_import_fetches_from_the_hub(tmp_path):
    home = tmp_path / "space"
    home.mkdir()
    store = Store(f"sqlite:///{home / 'sparse_feedback.db'}")
    store.create_project_from_generation(small_generation(2, 3), "p", overlap=1)
    store.import_llm_ratings("p", formats.rating_tasks(store.items_frame("p")).rename(columns={"response": "output"})
                             .assign(rating=5), "judge-y")
    store.close()
    with FakeHub() as hub:
        hub.tokens = {OAUTH_TOKEN: "hf-lead"}
        hub.add_repo("paper/rankings", files={DATA_PATH: parquet_bytes(RANKINGS)})
        env = {**SPACE_ENV, **hub.env(token=None), "HF_HOME": str(tmp_path / "hf-home")}
        with AppProcess(home, users="", **env) as app:
            with caller(app.url, "hf-lead", token=OAUTH_TOKEN, scope="openid profile write-repos") as lead:
                pushed = call(lead, "export_push", ["hf-lead", "p", "ratings", "llm", "hf-lead/p-ratings", True])
                fetched = call(lead, "import_fetch", ["hf-lead", "hf://datasets/paper/rankings"])
            with caller(app.url, "hf-annotator", token=OAUTH_TOKEN) as annotator:
                refused = call(annotator, "export_push", ["hf-annotator", "p", "ratings", "human", "hf-lead/x", True])
            with caller(app.url, "hf-lead", token=OAUTH_TOKEN, scope="openid profile write-repos") as lead:
                lead_config = lead.get("/config").text
            log = app.log()
    assert pushed["success"], (pushed, log[-3000:])
    assert "pushed p ratings (llm)" in pushed["data"][0]
    assert hub.repo("hf-lead/p-ratings").private
    assert len(pd.read_parquet(io.BytesIO(hub.files("hf-lead/p-ratings")[DATA_PATH]))) == 6
    assert fetched["success"] and "Fetched" in fetched["data"][0], fetched
    assert pd.read_parquet(fetched["data"][1]["path"])["feedback"].tolist() == RANKINGS["feedback"].tolist()
    assert not refused["success"] and ("dataset", "hf-lead/x") not in hub.repos
    assert "annotations are lost when the Space restarts" in log  # the Space's log at start
    assert "annotations are lost when the Space restarts" in lead_config  # and on the page
