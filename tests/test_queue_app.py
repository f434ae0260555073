"""The Admin tab's queue strategy through the app: set it (the order computed by a background job), see why each
next item was chosen, and an annotator then gets the first of that order; annotators cannot change it."""

import pytest
from gradio_client import Client

from sparse_feedback.jobs import runner
from tests.appserver import running_app, small_generation
from tests.test_queue_strategies import llm_labels

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _setup(store):
    generation = small_generation(3, 3)
    store.create_project_from_generation(generation, "p", overlap=1)
    ratings, rankings = llm_labels(generation)
    store.import_llm_ratings("p", ratings, "judge")
    store.import_llm_rankings("p", rankings.drop(columns="reversed"), "judge")


def client(url, who):
    return Client(url, auth=(who, f"{who}-pw"), verbose=False)


def test_an_admin_sets_the_strategy_sees_why_and_annotators_get_that_order(tmp_path):
    with running_app(tmp_path, setup=_setup) as (url, store):
        root = client(url, "root")
        message = root.predict("", "p", "disagreement", None, api_name="/queue_save")
        assert "**disagreement**" in message and "being computed (job" in message
        job = int(message.split("(job ")[1].split(")")[0])
        assert runner.wait(store, job, timeout=120)["status"] == "done"
        strategy, _model, status, items = root.predict("", "p", api_name="/queue_load")
        assert strategy == "disagreement" and "Strategy **disagreement**: 18 tasks ordered, stored" in status
        reasons = [row[3] for row in items["data"] if row[0] == "rankings"]
        assert reasons[0].startswith("LLM orders disagree ((a) shown first, (b) shown second); LLM ratings 7 vs 3")
        first = store.queue_preview("p", "rankings", n=1)["task"].iloc[0]
        client(url, "alice").predict("p", "", api_name="/rank_show")
        assert store.next_task("p", "alice", "rankings").task_id == first  # her open task, resumed
        with pytest.raises(Exception, match="only an admin"):
            client(url, "bob").predict("", "p", "random", None, api_name="/queue_save")
        assert store.queue_strategy("p")["strategy"] == "disagreement"
