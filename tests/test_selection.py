"""Queue strategies on a small planted set: each order equals an independent, loop-by-loop computation."""

import itertools

import numpy as np
import pandas as pd
import pytest

from sparse_feedback.study.selection import STRATEGIES, check_strategy, strategy_order

# Three instructions x 3 responses; every pair of an instruction's responses is a pair task.
ITEMS, RESPONSES = (10, 20, 30), 3
PAIRS = pd.DataFrame([(100 + n, item, i, j) for n, (item, (i, j)) in enumerate(
    (item, ij) for item in ITEMS for ij in itertools.combinations(range(RESPONSES), 2))],
    columns=["task_id", "item", "index1", "index2"])
RATING_TASKS = pd.DataFrame([(500 + n, item, i) for n, (item, i) in enumerate(
    (item, i) for item in ITEMS for i in range(RESPONSES))], columns=["task_id", "item", "index"])
# LLM ratings and the label of each order (pair terms) per pair; planted contradictions.
LLM_RATINGS = {(10, 0): 7, (10, 1): 1, (10, 2): 4, (20, 0): 5, (20, 1): 5, (20, 2): 2, (30, 0): 3, (30, 1): 6}
ORDER_LABELS = {  # task: (label when asked (index1, index2), label when asked (index2, index1))
    100: ("(b)", "(b)"),  # ratings 7 vs 1 imply (a): contradicted by a unanimous (b), gap |1 - -1| = 2
    101: ("(a)", "(b)"),  # orders disagree (2) and ratings 7 vs 4 imply (a) against equal (0.5)
    102: ("(a)", "(a)"),  # 1 vs 4 imply (b); contradicted, gap |-0.5 - 1| = 1.5
    103: ("equal", "(a)"),  # orders disagree by 1; 5 vs 5 imply equal = the final equal: no ratings gap
    104: ("(a)", "(a)"),  # 5 vs 2 imply (a): agree
    105: ("(a)", None),  # one order only: nothing counted
    106: ("(b)", "(b)"),  # 3 vs 6 imply (b): agree
    107: ("(a)", "(a)"),  # response (30, 2) has no rating: nothing counted
    108: ("(b)", "(a)"),  # orders disagree: 2
}
REWARDS = {(10, 0): 0.9, (10, 1): 0.1, (10, 2): 0.5, (20, 0): 0.30, (20, 1): 0.31, (20, 2): 0.35,
           (30, 0): -1.0, (30, 1): 1.0, (30, 2): 0.2}
HUMAN_ANSWERS = {10: 4, 20: 0, 30: 1}
GRADE = {"(a)": 1, "(b)": -1, "equal": 0}


def orders_frame():
    rows = [(t, rev, label) for t, labels in ORDER_LABELS.items() for rev, label in zip((False, True), labels)
            if label is not None]
    return pd.DataFrame(rows, columns=["task_id", "reversed", "value"])


def ratings_frame():
    return pd.DataFrame([(i, r, v) for (i, r), v in LLM_RATINGS.items()], columns=["item", "index", "rating"])


def signals():
    return dict(pairs=PAIRS, orders=orders_frame(), ratings=ratings_frame(), model="rm-x",
                rewards=pd.DataFrame([(i, r, v) for (i, r), v in REWARDS.items()], columns=["item", "index", "reward"]),
                answers=pd.DataFrame(list(HUMAN_ANSWERS.items()), columns=["item", "answers"]))


def by_score(scores: dict) -> list:
    """Task ids by score, highest first, ties by id: the order every strategy promises."""
    return sorted(scores, key=lambda t: (-scores[t], t))


def independent_pair_contradiction(task) -> float:
    ab, ba = ORDER_LABELS[task]
    item, i, j = PAIRS.set_index("task_id").loc[task, ["item", "index1", "index2"]]
    score = 0.0
    if ab and ba:
        final = ab if ab == ba else "equal"
        if ab != ba:
            score += abs(GRADE[ab] - GRADE[ba])
        r1, r2 = LLM_RATINGS.get((item, i)), LLM_RATINGS.get((item, j))
        if r1 is not None and r2 is not None:
            implied = "(a)" if r1 > r2 else "(b)" if r1 < r2 else "equal"
            if implied != final:
                score += abs((r1 - r2) / 6 - GRADE[final])
    return score


def test_disagreement_puts_the_most_contradictory_pairs_first():
    scores = {t: independent_pair_contradiction(t) for t in ORDER_LABELS}
    order = strategy_order("disagreement", "rankings", PAIRS, **signals())
    assert order["task_id"].tolist() == by_score(scores)
    assert order["score"].tolist() == pytest.approx([scores[t] for t in by_score(scores)])
    assert order["task_id"].tolist()[:2] == [101, 100]  # 2.5, then 2.0 (ties with 108 by id)
    reason = order.set_index("task_id")["reason"]
    assert reason[108] == "LLM orders disagree ((b) shown first, (a) shown second)"
    assert "LLM ratings 7 vs 1 imply (a), its ranking says (b)" in reason[100]
    assert reason[104] == "the LLM's labels agree"


def test_disagreement_orders_rating_tasks_by_their_worst_contradicted_pair():
    pair_scores = {}
    for t in ORDER_LABELS:
        ab, ba = ORDER_LABELS[t]
        ratings_only = independent_pair_contradiction(t) - (abs(GRADE[ab] - GRADE[ba]) if ab and ba and ab != ba else 0)
        pair_scores[t] = ratings_only
    expected = {}
    for row in RATING_TASKS.itertuples():
        hits = [pair_scores[p.task_id] for p in PAIRS.itertuples()
                if p.item == row.item and row.index in (p.index1, p.index2)]
        expected[row.task_id] = max(hits)
    order = strategy_order("disagreement", "ratings", RATING_TASKS, **signals())
    assert order["task_id"].tolist() == by_score(expected)
    assert order["task_id"].tolist()[0] == 500  # (10, 0): 7 vs 1 against a unanimous (b)


def test_uncertainty_puts_the_smallest_reward_margins_first():
    margins = {p.task_id: abs(REWARDS[(p.item, p.index1)] - REWARDS[(p.item, p.index2)]) for p in PAIRS.itertuples()}
    order = strategy_order("uncertainty", "rankings", PAIRS, **signals())
    assert order["task_id"].tolist() == by_score({t: -m for t, m in margins.items()})
    assert order["reason"].iloc[0] == "margin 0.01 under RM rm-x"


def test_uncertainty_orders_rating_tasks_by_their_instructions_reward_variance():
    variance = {item: float(np.var([REWARDS[(item, r)] for r in range(RESPONSES)])) for item in ITEMS}
    expected = {row.task_id: -variance[row.item] for row in RATING_TASKS.itertuples()}
    order = strategy_order("uncertainty", "ratings", RATING_TASKS, **signals())
    assert order["task_id"].tolist() == by_score(expected)
    assert order["task_id"].tolist()[:3] == [503, 504, 505]  # instruction 20's rewards are closest together
    assert "over its instruction's 3 responses under RM rm-x" in order["reason"].iloc[0]


def test_coverage_serves_the_least_answered_instructions_first_one_task_each_round():
    # Independently: repeatedly take the instruction with the fewest answers so far (ties: the lowest task id
    # among their next tasks), hand out its next task, and count that as one more answer.
    served, queue = dict(HUMAN_ANSWERS), {i: sorted(RATING_TASKS[RATING_TASKS["item"] == i]["task_id"]) for i in ITEMS}
    expected = []
    while any(queue.values()):
        item = min((i for i in ITEMS if queue[i]), key=lambda i: (served[i], queue[i][0]))
        expected.append(queue[item].pop(0))
        served[item] += 1
    order = strategy_order("coverage", "ratings", RATING_TASKS, **signals())
    assert order["task_id"].tolist() == expected
    assert order["reason"].iloc[0] == "its instruction has 0 human answer(s)"


def test_random_keeps_the_queues_own_order():
    order = strategy_order("random", "rankings", PAIRS, **signals())
    assert order["task_id"].tolist() == sorted(PAIRS["task_id"]) and set(order["score"]) == {0.0}


def test_a_strategy_without_its_signal_says_so_and_ranks_every_task_alike():
    order = strategy_order("uncertainty", "rankings", PAIRS, model="rm-x")
    assert order["task_id"].tolist() == sorted(PAIRS["task_id"])
    assert set(order["reason"]) == {"not scored by RM rm-x"}


def test_an_unknown_strategy_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match="random, disagreement, uncertainty, coverage"):
        check_strategy("smart")
    assert len(STRATEGIES) == 4
