"""The score CLI, the training data readers and bad input."""


import pandas as pd
import pytest
from reward_helpers import tiny_model_fixture, toy_rankings

from sparse_feedback.errors import InputError
from sparse_feedback.formats import rm_pairs, rm_pairs_seed_json, write_json
from sparse_feedback.reward.config import RewardConfig
from sparse_feedback.reward.data import load_ratings, load_rankings, response_text, split_by_instruction
from sparse_feedback.reward.train import train

tiny = pytest.fixture(scope="module")(tiny_model_fixture)


@pytest.fixture(scope="module")
def reward_dir(tmp_path_factory, tiny):
    root = tmp_path_factory.mktemp("rm")
    toy_rankings(16).to_csv(root / "rankings.csv", index=False)
    train(RewardConfig(protocol="rankings", train=str(root / "rankings.csv"), output_dir=str(root / "rm"),
                       model=str(tiny), max_steps=2, batch_size=4, lr=1e-2))
    return root / "rm"


@pytest.mark.slow
def test_score_cli_adds_a_reward_column(cli, tmp_path, reward_dir):
    tasks = pd.DataFrame({"instruction": ["write a story", "write a story", "add numbers"], "input": ["", "", "2 3"],
                          "response": ["this answer is good", "this answer is bad", "5"]})
    tasks.to_csv(tmp_path / "tasks.csv", index=False)
    done = cli("score", "--model-dir", reward_dir, "--input", tmp_path / "tasks.csv", "--output",
               tmp_path / "scored.jsonl")
    assert done.returncode == 0, done.stderr[-2000:]
    scored = pd.read_json(tmp_path / "scored.jsonl", lines=True)
    assert list(scored.columns) == ["instruction", "input", "response", "reward"]
    assert scored["reward"].notna().all() and scored["reward"].nunique() > 1


@pytest.mark.slow
def test_scoring_ranking_feedback_adds_reward1_and_reward2(tmp_path, reward_dir):
    from sparse_feedback.reward.scoring import load_reward_model, scorable_table

    toy_rankings(4).to_csv(tmp_path / "f.csv", index=False, header=False)
    table, out, columns = scorable_table(tmp_path / "f.csv")
    assert columns == {"response1": "reward1", "response2": "reward2"} and len(out) == 4
    rm = load_reward_model(reward_dir)
    assert rm.score(table["instruction"], table["input"], table["response1"]).shape == (4,)


def test_train_reads_feedback_trl_pairs_and_the_seed_json_alike(tmp_path):
    feedback = toy_rankings(6)
    feedback.loc[0, "feedback"] = "equal"
    feedback.to_csv(tmp_path / "feedback.csv", index=False, header=False)
    pairs = rm_pairs(feedback)
    pairs.to_json(tmp_path / "pairs.jsonl", orient="records", lines=True)
    write_json(rm_pairs_seed_json(feedback), tmp_path / "seed.json")
    tables = [load_rankings(tmp_path / name) for name in ("feedback.csv", "pairs.jsonl", "seed.json")]
    assert all(len(t) == 5 for t in tables)  # the equal pair dropped
    # the texts the trainer scores: prompt + response_text(response), whatever the response's leading space
    texts = [[p + response_text(c) + "|" + response_text(r) for p, c, r in t.values.tolist()] for t in tables]
    assert texts[1] == texts[0] and texts[2] == texts[0]


def test_eval_split_is_by_instruction(tmp_path):
    pd.DataFrame({"instruction": [f"q{i // 3}" for i in range(30)], "input": "", "output": [f"a{i}" for i in range(30)],
                  "rating": [1 + i % 7 for i in range(30)]}).to_csv(tmp_path / "r.csv", index=False)
    train_part, held = split_by_instruction(load_ratings(tmp_path / "r.csv"), 0.1, seed=3)
    assert (len(train_part), len(held)) == (27, 3)
    assert not set(train_part["prompt"]) & set(held["prompt"])


@pytest.mark.slow
def test_a_bad_rating_is_a_one_line_error(cli, tmp_path):
    pd.DataFrame({"prompt": ["p"], "response": ["r"], "rating": [9]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(InputError, match="rating"):
        load_ratings(tmp_path / "bad.csv")
    done = cli("train", "ratings", "--train", tmp_path / "bad.csv", "--output-dir", tmp_path / "out")
    assert done.returncode == 2 and done.stderr.startswith("error:") and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_score_rejects_a_directory_that_is_not_a_reward_model(cli, tmp_path):
    (tmp_path / "x.csv").write_text("instruction,input,response\na,,b\n")
    done = cli("score", "--model-dir", tmp_path, "--input", tmp_path / "x.csv", "--output", tmp_path / "o.csv")
    assert done.returncode == 2 and "reward_config.json" in done.stderr


@pytest.mark.slow
def test_a_full_fine_tune_reloads_and_scores_like_the_trainer_evaluated(tmp_path, tiny):
    from sparse_feedback.reward.scoring import load_reward_model

    feedback = toy_rankings(12)
    feedback.to_csv(tmp_path / "rankings.csv", index=False)
    results = train(RewardConfig(protocol="rankings", train=str(tmp_path / "rankings.csv"), output_dir=str(tmp_path / "full"),
                                 model=str(tiny), max_steps=2, batch_size=4, lr=1e-3, full=True, eval_split=0.0,
                                 eval=str(tmp_path / "rankings.csv")))
    assert not (tmp_path / "full" / "adapter_config.json").exists()
    pairs = rm_pairs(feedback)
    rm = load_reward_model(tmp_path / "full")
    ins, inp = feedback["instruction"], feedback["input"]
    chosen = rm.score(ins, inp, [c for c in pairs["chosen"]])
    rejected = rm.score(ins, inp, [r for r in pairs["rejected"]])
    assert float((chosen > rejected).mean()) == pytest.approx(results["eval"]["accuracy"])
