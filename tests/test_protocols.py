"""The protocols' rules where feedback leaves the store: one row per pair for LLM rankings (both orders),
one label per pair by majority for humans, the judged orders only as an explicitly named raw export."""

from pathlib import Path

import pandas as pd
import pytest

from pages.research import feedback as consistency_tab_feedback
from sparse_feedback import formats
from sparse_feedback.analysis.sources import LLM, source_rankings
from sparse_feedback.protocols import flip, pairs_from_orders
from sparse_feedback.jobs import training
from sparse_feedback.store import Store
from sparse_feedback.store.annotate import stored_to_shown
from sparse_feedback.store.demo import load_demo
from sparse_feedback.ui.exports import JUDGED_ORDERS, export_file
from tests.appserver import ROOT, small_generation

PAIR = ["instruction", "input", "output1", "output2"]


def _pair_labels(frame: pd.DataFrame) -> dict:
    """{unordered pair: label for its texts in sorted order}, so two tables compare whatever their orientation."""
    out = {}
    for ins, inp, o1, o2, label in frame[[*PAIR, "feedback"]].itertuples(index=False):
        out[(ins, inp, *sorted((o1, o2)))] = label if o1 <= o2 else flip(label)
    return out


@pytest.fixture
def demo(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSE_FEEDBACK_HOME", str(tmp_path / "home"))
    store = Store(f"sqlite:///{tmp_path / 'sf.db'}")
    load_demo(store, ROOT / "assets" / "demo")
    yield store
    store.close()


def judge_output(tasks: pd.DataFrame, ab, ba) -> pd.DataFrame:
    """The judge's one-row-per-pair output with the position picked in each order (None = no answer)."""
    return tasks.assign(position_ab=list(ab), position_ba=list(ba), raw_answer_ab="Output x", raw_answer_ba="Output y",
                        feedback=None)


@pytest.fixture
def judged(tmp_path):
    """A project whose 6 pairs were judged: 2 where both orders agree, 2 position-biased, 2 with one order only."""
    store = Store(f"sqlite:///{tmp_path / 'sf.db'}")
    store.create_project_from_generation(small_generation(2, 3), "p", overlap=1)
    tasks = formats.ranking_tasks(store.items_frame("p")).rename(columns={"response1": "output1", "response2": "output2"})
    store.import_llm_rankings("p", judge_output(tasks, ["(a)", "(b)", "(a)", "(b)", "(a)", None],
                                                ["(b)", "(a)", "(a)", "(b)", None, "(b)"]), "judge")
    yield store, tasks
    store.close()


def test_llm_rankings_leave_the_store_as_one_row_per_pair_with_why(judged):
    store, tasks = judged
    fb = store.feedback("p", "rankings", "llm")
    assert len(fb) == 6 and fb[PAIR].equals(tasks[PAIR])
    assert fb["feedback"].tolist() == ["(a)", "(b)", "equal", "equal", "equal", "equal"]
    assert fb["orders"].tolist() == ["agree", "agree", "disagree", "disagree", "one order only", "one order only"]
    pairs = store.rm_pairs("p", "llm")
    assert len(pairs) == 2 and pairs["chosen"].str.strip().tolist() == [tasks["output1"][0], tasks["output2"][1]]


def test_the_export_tab_writes_one_row_per_pair_by_default_and_judged_orders_only_when_named(judged, tmp_path):
    store, _ = judged
    path, rows = export_file(store, "p", "rankings", "llm", "csv", tmp_path / "a")
    assert rows == 6 and len(pd.read_csv(path)) == 6 and "orders" in pd.read_csv(path).columns
    path, rows = export_file(store, "p", JUDGED_ORDERS, "llm", "csv", tmp_path / "b")
    raw = pd.read_csv(path, keep_default_na=False)
    assert rows == 10 and raw["reversed"].sum() == 5
    assert set(raw["raw_answers"]) == {"Output x", "Output y"}


def test_the_pairs_the_train_tab_trains_on_from_the_demos_llm_rankings_are_the_consistency_tabs(demo, monkeypatch):
    seen = {}

    def fake_start(store, protocol, train_file, model, output_dir, **kw):
        seen["table"], seen["aggregation"] = pd.read_csv(train_file, keep_default_na=False), kw["aggregation"]
        return 1, Path(output_dir)

    monkeypatch.setattr(training, "start_training", fake_start)
    training.start_project_training(demo, "demo", "llm", "rankings")
    trained = seen["table"]
    consistency = source_rankings(consistency_tab_feedback(demo, "demo"), LLM)
    assert len(trained) == len(consistency) == 60
    assert _pair_labels(trained) == _pair_labels(consistency)
    assert (trained["feedback"] == "equal").sum() == 50
    assert seen["aggregation"].startswith("60 pairs")


def test_humans_with_overlap_train_on_one_label_per_pair_by_majority_and_export_every_annotation(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'sf.db'}")
    store.create_project_from_generation(small_generation(2, 3), "p", overlap=3)
    plan = {"ann1": ["(a)", "(a)"], "ann2": ["(a)", "(b)"], "ann3": ["(b)", "equal"]}  # even / odd task ids
    for who, labels in plan.items():
        while (task := store.next_task("p", who, "rankings")) is not None:
            store.submit(who, task.assignment_id, stored_to_shown(labels[task.task_id % 2], task.swapped))
    exported = store.feedback("p", "rankings", "human")
    assert len(exported) == 18 and sorted(set(exported["annotator"])) == ["ann1", "ann2", "ann3"]
    table, how = store.training_feedback("p", "rankings", "human")
    assert len(table) == 6 and "majority" in how and how.startswith("6 pairs")
    assert sorted(table["feedback"]) == ["(a)"] * 3 + ["equal"] * 3  # 2-1 for (a); a three-way tie is equal
    every, how = store.training_feedback("p", "rankings", "human", every_annotation=True)
    assert len(every) == 18 and "every" in how
    store.close()


def test_the_train_tab_says_which_aggregation_and_how_many_pairs(demo, monkeypatch):
    from pages import train

    from sparse_feedback.jobs import runner

    monkeypatch.setattr(runner.subprocess, "Popen", lambda *a, **k: type("P", (), {"pid": 0, "wait": lambda s: 0})())
    job_id, _ = training.start_project_training(demo, "demo", "llm", "rankings")
    status, _, _ = train.job_view(demo, job_id)
    assert "Trained on 60 pairs, one per pair from both judged orders: 10 agree, 50 disagree" in status


def test_a_judge_file_of_final_labels_is_stored_as_the_orders_that_give_them(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'sf.db'}")
    store.create_project_from_generation(small_generation(1, 3), "p", overlap=1)
    tasks = formats.ranking_tasks(store.items_frame("p")).rename(columns={"response1": "output1", "response2": "output2"})
    store.import_llm_rankings("p", tasks.assign(feedback=["(a)", "equal", "(b)"]), "m")
    assert store.feedback("p", "rankings", "llm")["feedback"].tolist() == ["(a)", "equal", "(b)"]
    store.close()


def test_the_both_orders_rule_and_its_inverse_round_trip():
    from sparse_feedback.protocols import orders_from_pairs

    judged = pd.DataFrame({"instruction": ["i"] * 3, "input": [""] * 3, "output1": ["x", "x", "y"],
                           "output2": ["y", "z", "z"], "position_ab": ["(a)", "(a)", "(b)"],
                           "position_ba": ["(b)", "(a)", None]})
    rows = orders_from_pairs(judged)
    assert rows[["output1", "output2"]].values.tolist() == [["x", "y"], ["y", "x"], ["x", "z"], ["z", "x"], ["y", "z"]]
    rows["reversed"] = [False, True, False, True, False]
    back = pairs_from_orders(rows)
    assert back["feedback"].tolist() == ["(a)", "equal", "equal"]
    assert back["orders"].tolist() == ["agree", "disagree", "one order only"]


@pytest.mark.slow
def test_a_rankings_rm_trained_on_a_synthetic_llm_source_whose_orders_agree_beats_chance(tmp_path):
    from reward_helpers import WORDS, tiny_model

    from sparse_feedback.reward.config import RewardConfig
    from sparse_feedback.reward.train import train

    good, bad = ["good", "great", "fine", "nice"], ["bad", "awful", "poor", "wrong"]
    generation = pd.DataFrame({
        "instruction": [f"write {WORDS[10 + i % 12]} {i}" for i in range(32)], "input": [""] * 32,
        "responses": [[f"this answer is {good[i % 4]}", f"this answer is {bad[(i + 1) % 4]}"][:: 1 if i % 2 else -1]
                      for i in range(32)]})
    store = Store(f"sqlite:///{tmp_path / 'sf.db'}")
    store.create_project_from_generation(generation, "p")
    tasks = formats.ranking_tasks(store.items_frame("p")).rename(columns={"response1": "output1", "response2": "output2"})
    wins = ["(a)" if o1.split()[-1] in good else "(b)" for o1 in tasks["output1"]]
    store.import_llm_rankings("p", judge_output(tasks, wins, [flip(w) for w in wins]), "judge")
    table, _ = store.training_feedback("p", "rankings", "llm")
    table.to_csv(tmp_path / "train.csv", index=False)
    results = train(RewardConfig(protocol="rankings", train=str(tmp_path / "train.csv"), model=str(tiny_model(
        tmp_path / "tiny")), output_dir=str(tmp_path / "rm"), batch_size=4, lr=1e-2, epochs=4, eval_split=0.25, seed=0))
    assert results["n_train"] + results["n_eval"] == 32  # one row per pair, not one per judged order
    assert results["eval"]["accuracy"] > 0.5
    store.close()
