"""Every command that sends requests or loads a model checks all it will write (and what it reads) first: a bad
output or input is refused with one line and exit 2 while the fake server has seen no request and no model has
been loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from fake_openai import FakeJudgeServer
from judge_helpers import rating_tasks, write_csv

from sparse_feedback.cli import main

pytestmark = pytest.mark.slow  # a fake server per test, and transformers imported to watch model loads
ROOT = Path(__file__).resolve().parents[1]
RM = ROOT / "assets" / "demo" / "best_of_n" / "rm_ratings"  # a trained reward model (never loaded here)


class ModelLoaded(Exception):
    """Raised instead of loading: the command went as far as a model load."""


@pytest.fixture
def loads(monkeypatch):
    """Every model, tokenizer or config load a command attempts (stopped at once)."""
    import peft
    import transformers

    seen = []

    def refuse(*args, **kwargs):
        seen.append(args[:2])
        raise ModelLoaded(str(args[:2]))

    monkeypatch.setattr(transformers.PreTrainedModel, "from_pretrained", classmethod(refuse))
    for cls in (transformers.AutoTokenizer, transformers.AutoConfig, peft.PeftModel):
        monkeypatch.setattr(cls, "from_pretrained", refuse)
    return seen


@pytest.fixture
def d(tmp_path, monkeypatch):
    """Valid inputs, a regular file (``blocker``) that no output can be made under, and a user's folder."""
    monkeypatch.setenv("OPENAI_API_KEY", "")
    monkeypatch.setenv("SPARSE_FEEDBACK_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    write_csv(rating_tasks(5), tmp_path / "ratings.csv")
    pairs = rating_tasks(5).rename(columns={"response": "response1"}).assign(response2="Another answer.")
    write_csv(pairs, tmp_path / "rankings.csv")
    outputs = [{"instruction": f"Describe item {i}.", "input": "", "output": f"Item {i}."} for i in range(3)]
    (tmp_path / "ref.json").write_text(json.dumps(outputs))
    (tmp_path / "cand.json").write_text(json.dumps(outputs))
    (tmp_path / "instructions.json").write_text(json.dumps([{"instruction": "Say hi.", "input": ""}]))
    (tmp_path / "gen.json").write_text(json.dumps([{"instruction": "Say hi.", "input": "", "responses": ["a", "b"]}]))
    pd.DataFrame({"instruction": ["Say hi."] * 4, "input": [""] * 4, "output1": ["hi", "yo", "hey", "hello"],
                  "output2": ["hello", "hi", "yo", "hey"], "feedback": ["(a)", "(b)", "(a)", "(b)"]}
                 ).to_csv(tmp_path / "feedback.csv", index=False)
    (tmp_path / "blocker").write_text("a file, not a folder")
    (tmp_path / "folder").mkdir()
    (tmp_path / "mine.failed.csv").mkdir()
    (tmp_path / "folder" / "thesis.txt").write_text("three years of work")
    return tmp_path


def judge(kind="ratings", *extra, output="out.csv"):
    return lambda url: ["judge", kind, "--input", f"{kind}.csv", "--output", output, "--model", "fake-judge",
                        "--base-url", url, "--cache", "c.db", "--no-progress", *extra]


def evaluate(*extra, output_dir="eval"):
    return lambda url: ["evaluate", "--reference", "ref.json", "--candidate", "cand.json", "--judge-model", "m",
                        "--base-url", url, "--output-dir", output_dir, "--cache", "c.db", *extra]


CASES = {
    "judge: the output is a folder": judge(output="folder"),
    "judge: the output cannot be made (under a file)": judge(output="blocker/out.csv"),
    "judge: the failed list is a folder": judge(output="mine.csv"),  # mine.failed.csv is a folder
    "judge: the cache is a folder": judge("ratings", "--cache", "folder"),
    "judge: the prompt template is missing": judge("ratings", "--prompt-template", "nope.txt"),
    "judge: the prices file is missing": judge("ratings", "--prices", "nope.json", "--max-cost", "1"),
    "judge rankings --batch: the output is a folder": judge("rankings", "--batch", output="folder"),
    "judge --write-batch: the file is a folder": judge("ratings", "--write-batch", "folder"),
    "judge --read-batch: the file is missing": judge("ratings", "--read-batch", "nope.jsonl"),
    "judge, local model: the output is a folder": lambda url: [
        "judge", "ratings", "--input", "ratings.csv", "--output", "folder", "--backend", "transformers", "--model",
        str(RM), "--cache", "c.db", "--no-progress"],
    "judge batches --cancel: there is no cache": lambda url: ["judge", "batches", "--cache", "c.db", "--cancel",
                                                              "batch_1"],
    "evaluate: the output cannot be made": evaluate(output_dir="blocker/eval"),
    "evaluate: the cache is a folder": evaluate("--cache", "folder"),
    "evaluate: a candidate is missing": lambda url: [a.replace("cand.json", "nope.json") for a in evaluate()(url)],
    "evaluate, local judge: the output is a user's folder": lambda url: evaluate(output_dir="folder")(url) + [
        "--backend", "transformers"],
    "generate: the output is a folder": lambda url: ["generate", "--instructions", "instructions.json", "--model",
                                                     str(RM), "--output", "folder"],
    "generate: the output cannot be made": lambda url: ["generate", "--instructions", "instructions.json",
                                                        "--model", str(RM), "--output", "blocker/gen.json"],
    "rerank: the output cannot be made": lambda url: ["rerank", "--rm", str(RM), "--candidates", "gen.json",
                                                      "--output", "blocker/best.json"],
    "score: the output cannot be made": lambda url: ["score", "--model-dir", str(RM), "--input", "ratings.csv",
                                                     "--output", "blocker/scored.csv"],
    "train: the output cannot be made": lambda url: ["train", "rankings", "--train", "feedback.csv", "--model",
                                                     str(RM), "--output-dir", "blocker/rm"],
    "pipeline: the output cannot be made": lambda url: ["pipeline", "--output-dir", "blocker/run", "--config",
                                                        "pipeline_tiny.yaml"],
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_output_or_input_is_refused_before_any_request_or_model_load(case, d, loads, capsys):
    with FakeJudgeServer() as server:
        try:
            code = main(CASES[case](server.base_url))
        except ModelLoaded:
            code = "went on to load a model"
        requests = server.http_requests
    err = capsys.readouterr().err.strip()
    assert (code, requests, loads) == (2, 0, []), err
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert sorted(p.name for p in (d / "folder").iterdir()) == ["thesis.txt"]
    assert not (d / "c.db").exists() and not (d / "home").exists()  # no cache, no data home: nothing written
