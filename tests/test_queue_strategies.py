"""Queue strategies in the store: the stored order is what a submit serves, overlap and never-twice hold under
every strategy (SQLite and PostgreSQL), and new inputs make the order stale until the job recomputes it."""

import itertools

import pandas as pd
import pytest

from sparse_feedback.jobs import runner
from sparse_feedback.jobs.selection import (
    compute_order, refresh, refresh_for_model, run_selection, start_selection,
)
from sparse_feedback.store import Store, StoreError
from sparse_feedback.study.selection import STRATEGIES
from tests.appserver import small_generation
from tests.databases import db_url  # noqa: F401  (fixture: one SQLite and one PostgreSQL database)


def llm_labels(generation: pd.DataFrame):
    """Planted LLM labels: ratings by response number (7, 5, 3), and rankings whose two orders disagree on every
    pair with the item's first response (and agree, against the ratings, elsewhere)."""
    ratings, rankings = [], []
    for rec in generation.itertuples(index=False):
        for j, text in enumerate(rec.responses):
            ratings.append((rec.instruction, rec.input, text, 7 - 2 * j))
        for i, j in itertools.combinations(range(len(rec.responses)), 2):
            a, b = rec.responses[i], rec.responses[j]
            first, second = ("(a)", "(a)") if i == 0 else ("(b)", "(a)")  # as asked: (a, b), then (b, a)
            rankings += [(rec.instruction, rec.input, a, b, first), (rec.instruction, rec.input, b, a, second)]
    return (pd.DataFrame(ratings, columns=["instruction", "input", "output", "rating"]),
            pd.DataFrame(rankings, columns=["instruction", "input", "output1", "output2", "feedback"]).assign(
                reversed=[False, True] * (len(rankings) // 2)))


def planted_store(url, overlap: int, strategy: str, reward_model=None, n_items: int = 3):
    store = Store(url)
    generation = small_generation(n_items, 3)
    store.create_project_from_generation(generation, "p", overlap=overlap)
    ratings, rankings = llm_labels(generation)
    store.import_llm_ratings("p", ratings, "judge")
    store.import_llm_rankings("p", rankings.drop(columns="reversed"), "judge")
    store.set_queue_strategy("p", strategy, reward_model=reward_model)
    run_selection(store, "p")
    return store


@pytest.fixture(scope="module")
def reward_model_dir(tmp_path_factory):
    from tests.tiny_models import tiny_causal_lm, tiny_reward_model

    root = tmp_path_factory.mktemp("rm")
    return str(tiny_reward_model(root / "rm", tiny_causal_lm(root / "base")))


def drain(store, protocol: str, annotators) -> list[tuple[str, int]]:
    """Every annotator takes and answers tasks in turn until no one gets one; returns (annotator, task) served."""
    served, active = [], list(annotators)
    while active:
        for who in list(active):
            task = store.next_task("p", who, protocol)
            if task is None:
                active.remove(who)
                continue
            served.append((who, task.task_id))
            store.submit(who, task.assignment_id, 4 if protocol == "ratings" else "left")
    return served


# uncertainty loads a (tiny) reward model to score every response: slow
EVERY_STRATEGY = [pytest.param(s, marks=pytest.mark.slow) if s == "uncertainty" else s for s in STRATEGIES]


def rm_for(strategy, request):
    return request.getfixturevalue("reward_model_dir") if strategy == "uncertainty" else None


@pytest.mark.parametrize("strategy", EVERY_STRATEGY)
def test_overlap_and_never_twice_hold_under_every_strategy(db_url, strategy, request):  # noqa: F811
    store = planted_store(db_url, overlap=2, strategy=strategy, reward_model=rm_for(strategy, request))
    try:
        for protocol, n_tasks in (("ratings", 9), ("rankings", 9)):
            served = drain(store, protocol, ["ann1", "ann2", "ann3"])
            assert len(served) == len(set(served)) == 2 * n_tasks  # never twice to one person, k answers each
            per_task = pd.Series([t for _, t in served]).value_counts()
            assert len(per_task) == n_tasks and set(per_task) == {2}
            # balance: no task got its second answer before every task had its first
            firsts = {t: i for i, (_, t) in reversed(list(enumerate(served)))}
            seconds = [i for i, (_, t) in enumerate(served) if firsts[t] != i]
            assert max(firsts.values()) < min(seconds)
    finally:
        store.close()


@pytest.mark.parametrize("strategy", EVERY_STRATEGY)
def test_a_submit_serves_the_stored_order(db_url, strategy, request):  # noqa: F811
    store = planted_store(db_url, overlap=1, strategy=strategy, reward_model=rm_for(strategy, request))
    try:
        order, _, _ = compute_order(store, "p")  # the order recomputed, independently of what was stored
        for protocol in ("ratings", "rankings"):
            expected = order[order["protocol"] == protocol].sort_values("rank")["task_id"].tolist()
            assert store.queue_preview("p", protocol, n=50)["task"].tolist() == expected
            assert [t for _, t in drain(store, protocol, ["solo"])] == expected
    finally:
        store.close()


def test_the_admin_preview_says_why_each_next_item_was_chosen(tmp_path):
    store = planted_store(f"sqlite:///{tmp_path / 's.db'}", overlap=1, strategy="disagreement")
    try:
        preview = store.queue_preview("p", "rankings", n=4)
        disagree = "LLM orders disagree ((a) shown first, (b) shown second); LLM ratings 7 vs {} imply (a), its " \
                   "ranking says equal"
        # each item's (first, third) pair (2 + 4/6), by task id, then the first item's (first, second) (2 + 2/6)
        assert preview["reason"].tolist() == [disagree.format(3)] * 3 + [disagree.format(5)]
        assert list(preview.columns) == ["task", "instruction", "response", "answers", "rank", "reason"]
        assert store.queue_strategy("p")["message"] == "disagreement: 18 tasks ordered"
    finally:
        store.close()


def test_new_llm_labels_make_the_order_stale_until_the_job_recomputes_it(tmp_path):
    store = planted_store(f"sqlite:///{tmp_path / 's.db'}", overlap=1, strategy="disagreement")
    try:
        assert store.queue_strategy("p")["stale"] is False
        assert refresh(store, "p", changed="rm") is None  # disagreement does not read an RM
        ratings, _ = llm_labels(small_generation(3, 3))
        store.import_llm_ratings("p", ratings.assign(rating=4), "judge")  # every rating now equal
        assert store.queue_strategy("p")["stale"] is True
        run_selection(store, "p")
        assert store.queue_strategy("p")["stale"] is False
        reasons = " ".join(store.queue_preview("p", "rankings", n=50)["reason"])
        assert "LLM ratings 4 vs 4 imply equal" in reasons and "7 vs" not in reasons
    finally:
        store.close()


def test_switching_back_to_random_restores_todays_order(tmp_path):
    store = planted_store(f"sqlite:///{tmp_path / 's.db'}", overlap=1, strategy="disagreement")
    try:
        store.set_queue_strategy("p", "random")
        run_selection(store, "p")
        ids = store.queue_preview("p", "rankings", n=50)["task"].tolist()
        assert ids == sorted(ids)
    finally:
        store.close()


def test_uncertainty_without_a_reward_model_is_refused(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    store.create_project_from_generation(small_generation(1, 2), "p")
    with pytest.raises(StoreError, match="needs a reward model"):
        store.set_queue_strategy("p", "uncertainty")
    with pytest.raises(StoreError, match="strategy must be one of"):
        store.set_queue_strategy("p", "smart")
    store.close()


@pytest.mark.slow
def test_the_order_is_computed_by_a_job_process_of_the_runner(tmp_path, monkeypatch, reward_model_dir):
    monkeypatch.setenv("SPARSE_FEEDBACK_HOME", str(tmp_path / "home"))
    store = planted_store(f"sqlite:///{tmp_path / 's.db'}", overlap=1, strategy="random")
    try:
        store.set_queue_strategy("p", "coverage")
        job = start_selection(store, "p")
        state = runner.wait(store, job, timeout=120)
        assert state["status"] == "done" and state["message"] == "coverage: 18 tasks ordered"
        assert store.queue_strategy("p")["computed_strategy"] == "coverage"
        # a retrained RM recomputes the orders that read it, and only those
        store.set_queue_strategy("p", "uncertainty", reward_model=reward_model_dir)
        assert refresh_for_model(store, tmp_path / "another-rm") == []
        (job2,) = refresh_for_model(store, reward_model_dir)
        assert runner.wait(store, job2, timeout=180)["status"] == "done"
        assert store.queue_strategy("p")["computed_strategy"] == "uncertainty"
        assert sorted(store.jobs(kind="queue order")["id"].tolist())[1:] == [job, job2]  # 1: planted_store's run
    finally:
        store.close()


@pytest.mark.slow
def test_import_strategy_orders_the_new_project_and_queue_changes_it_later(tmp_path):
    import subprocess
    import sys

    from tests.appserver import ROOT

    _, rankings = llm_labels(small_generation(3, 3))
    path = tmp_path / "rankings.csv"
    rankings.drop(columns="reversed").to_csv(path, index=False)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**__import__("os").environ, "SPARSE_FEEDBACK_HOME": str(tmp_path / "home")}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "sparse_feedback", *args, "--db", url], capture_output=True,
                              text=True, cwd=ROOT, env=env, timeout=180)

    made = cli("import", str(path), "--project", "q", "--strategy", "disagreement")
    assert made.returncode == 0, made.stderr
    assert "Strategy disagreement: 18 tasks ordered, stored" in made.stdout
    shown = cli("queue", "--project", "q", "--strategy", "coverage", "--show", "2")
    assert shown.returncode == 0, shown.stderr
    assert "Strategy coverage: 18 tasks ordered" in shown.stdout
    assert "its instruction has 0 human answer" in shown.stdout
    store = Store(url)
    assert store.queue_strategy("q")["computed_strategy"] == "coverage"
    store.close()
    refused = cli("queue", "--project", "q", "--strategy", "uncertainty")
    assert refused.returncode == 2 and "needs a reward model" in refused.stderr


@pytest.mark.parametrize("strategy", ["disagreement", "coverage"])
def test_gold_keeps_its_rate_and_the_rest_follows_the_stored_order(db_url, strategy):  # noqa: F811
    from sparse_feedback.study.assignment import next_task

    store = planted_store(db_url, overlap=1, strategy=strategy, n_items=6)
    try:
        pairs = store.selection_inputs("p")["pairs"]
        gold_ids = pairs[pairs["item"] == pairs["item"].max()]["task_id"].tolist()  # the last item's 3 pairs
        store.set_gold("p", "root", [("rankings", t, "(a)") for t in gold_ids])
        store.set_study_settings("p", "root", gold_every=3)
        regular = store.queue_preview("p", "rankings", n=50)["task"].tolist()  # gold left out of the preview
        assert len(regular) == 15 and not set(gold_ids) & set(regular)
        served = []
        while (task := next_task(store, "p", "ann", "rankings")) is not None:
            served.append(task.task_id)
            store.submit("ann", task.assignment_id, "left")
        assert [t for t in served if t not in gold_ids] == regular  # the stored order, gold mixed in
        for block in range(3):  # one gold task in every 3 served
            assert sum(t in gold_ids for t in served[3 * block:3 * block + 3]) == 1
        assert sorted(t for t in served if t in gold_ids) == sorted(gold_ids) and len(served) == 18
    finally:
        store.close()
