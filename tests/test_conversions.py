"""Conversions through the CLI: generation → rating/ranking tasks; feedback → reward-model data."""

import json

import pandas as pd
import pytest

from feedback_files import ROWS, csv_headerless, write
from sparse_feedback import formats
from sparse_feedback.templates import alpaca_prompt

GENERATION = [
    {"instruction": "Add 2 and 3.", "input": "", "responses": ["5", "6", "five"]},
    {"instruction": "Translate to French.", "input": "Good morning", "responses": ["Bonjour", "Hola"]},
]

RANKINGS = [
    {"instruction": "Add 2 and 3.", "input": "", "output1": "5", "output2": "6", "feedback": "(a)"},
    {"instruction": "Add 2 and 3.", "input": "", "output1": "6", "output2": "five", "feedback": "(b)"},
    {"instruction": "Add 2 and 3.", "input": "", "output1": "5", "output2": "five", "feedback": "equal"},
    {"instruction": "Translate to French.", "input": "Good morning", "output1": "Hola", "output2": "Bonjour",
     "feedback": "(b)"},
]


@pytest.fixture
def generation(tmp_path):
    return write("rows.json", GENERATION, tmp_path)


@pytest.mark.slow
def test_tasks_ratings_gives_one_row_per_response(cli, generation, tmp_path):
    out = cli("tasks", "ratings", "--input", generation, "--output", tmp_path / "tasks.csv")
    assert out.returncode == 0, out.stderr
    assert "5 ratings tasks from 2 instructions" in out.stdout
    assert formats.read_rating_tasks(tmp_path / "tasks.csv").values.tolist() == [
        ["Add 2 and 3.", "", "5"], ["Add 2 and 3.", "", "6"], ["Add 2 and 3.", "", "five"],
        ["Translate to French.", "Good morning", "Bonjour"], ["Translate to French.", "Good morning", "Hola"]]


@pytest.mark.slow
def test_tasks_rankings_gives_every_unordered_pair_in_order(cli, generation, tmp_path):
    out = cli("tasks", "rankings", "--input", generation, "--output", tmp_path / "tasks.jsonl")
    assert out.returncode == 0, out.stderr
    tasks = formats.read_ranking_tasks(tmp_path / "tasks.jsonl")
    assert tasks[["response1", "response2"]].values.tolist() == [
        ["5", "6"], ["5", "five"], ["6", "five"], ["Bonjour", "Hola"]]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tasks.parquet", "tasks.json", "tasks_dir"])
def test_tasks_write_every_table_format(cli, generation, tmp_path, name):
    out = cli("tasks", "ratings", "--input", generation, "--output", tmp_path / name)
    assert out.returncode == 0, out.stderr
    assert len(formats.read_rating_tasks(tmp_path / name)) == 5


@pytest.mark.slow
def test_rm_pairs_trl_maps_a_to_output1_b_to_output2_and_drops_equal(cli, tmp_path):
    out = cli("export", "rm-pairs", "--rankings", csv_headerless(RANKINGS, tmp_path / "k.csv"),
              "--format", "trl", "--output", tmp_path / "pairs.jsonl")
    assert out.returncode == 0, out.stderr
    assert "3 preference pairs (1 equal dropped)" in out.stdout
    pairs = [json.loads(line) for line in (tmp_path / "pairs.jsonl").read_text().splitlines()]
    assert [(p["chosen"], p["rejected"]) for p in pairs] == [(" 5", " 6"), (" five", " 6"), (" Bonjour", " Hola")]
    assert pairs[0]["prompt"] == alpaca_prompt("Add 2 and 3.", "")
    assert pairs[2]["prompt"] == alpaca_prompt("Translate to French.", "Good morning")


@pytest.mark.slow
def test_rm_pairs_seed_json_has_the_original_layout(cli, tmp_path):
    out = cli("export", "rm-pairs", "--rankings", csv_headerless(RANKINGS, tmp_path / "k.csv"),
              "--format", "seed-json", "--output", tmp_path / "pairs.json")
    assert out.returncode == 0, out.stderr
    assert json.loads((tmp_path / "pairs.json").read_text()) == {
        alpaca_prompt("Add 2 and 3.", "") + " ": {"sentences": [["5", "6"], ["five", "6"]]},
        alpaca_prompt("Translate to French.", "Good morning") + " ": {"sentences": [["Bonjour", "Hola"]]},
    }


@pytest.mark.slow
def test_rm_pairs_seed_json_equals_the_original_file(cli, seed, tmp_path):
    out = cli("export", "rm-pairs", "--rankings", seed / "alpaca_generation/feedback_rankings_sample_generation.csv",
              "--format", "seed-json", "--output", tmp_path / "p.json")
    assert out.returncode == 0, out.stderr
    original = json.loads((seed / "alpaca_generation/feedback_rankings_for_rm_sample.json").read_text())
    assert json.loads((tmp_path / "p.json").read_text()) == original


@pytest.mark.slow
def test_rm_pairs_hf_writes_a_loadable_dataset(cli, tmp_path):
    out = cli("export", "rm-pairs", "--rankings", write("rows.parquet", RANKINGS, tmp_path),
              "--format", "hf", "--output", tmp_path / "pairs_hf")
    assert out.returncode == 0, out.stderr
    import datasets

    ds = datasets.load_from_disk(str(tmp_path / "pairs_hf"))
    assert ds.column_names == ["prompt", "chosen", "rejected"] and ds.num_rows == 3
    assert ds[1]["chosen"] == " five"


@pytest.mark.slow
def test_rm_ratings_gives_prompt_response_rating(cli, tmp_path):
    out = cli("export", "rm-ratings", "--ratings", write("rows.jsonl", ROWS["rating feedback"], tmp_path),
              "--output", tmp_path / "rm.csv")
    assert out.returncode == 0, out.stderr
    rm = pd.read_csv(tmp_path / "rm.csv", keep_default_na=False)
    assert list(rm.columns) == ["prompt", "response", "rating"]
    assert rm["rating"].tolist() == [7, 6, 2]
    assert rm["prompt"].iloc[2] == alpaca_prompt('Say "hi", twice', "")  # "nan" input is no input


@pytest.mark.slow
def test_trl_pairs_concatenate_to_the_tokens_the_projects_trainer_scores(cli, tmp_path):
    """TRL trains on tokenize(prompt + chosen): that must be the prompt and response the project's trainer packs."""
    from transformers import AutoTokenizer

    from sparse_feedback.reward.data import response_text
    from sparse_feedback.settings import cache_dir

    path = cache_dir() / "smollm2-135m-hf"
    if not (path / "tokenizer.json").exists():
        pytest.skip("the smollm2-135m tokenizer is not in the cache")
    tokenizer = AutoTokenizer.from_pretrained(path)
    out = cli("export", "rm-pairs", "--rankings", csv_headerless(RANKINGS, tmp_path / "k.csv"),
              "--format", "trl", "--output", tmp_path / "pairs.jsonl")
    assert out.returncode == 0, out.stderr
    pairs = [json.loads(line) for line in (tmp_path / "pairs.jsonl").read_text().splitlines()]
    feedback = formats.read_ranking_feedback(tmp_path / "k.csv")
    decided = feedback[feedback["feedback"] != "equal"].reset_index(drop=True)
    for pair, row in zip(pairs, decided.itertuples()):
        for side, text in (("chosen", row.output1 if row.feedback == "(a)" else row.output2),
                           ("rejected", row.output2 if row.feedback == "(a)" else row.output1)):
            trl = tokenizer(pair["prompt"] + pair[side])["input_ids"]
            ours = (tokenizer(alpaca_prompt(row.instruction, row.input))["input_ids"]
                    + tokenizer(response_text(text), add_special_tokens=False)["input_ids"])
            assert trl == ours
            assert pair["prompt"] + pair[side] == alpaca_prompt(row.instruction, row.input) + " " + text
