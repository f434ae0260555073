"""``evaluate``: both win-rates of a candidate against a reference, judged through a real HTTP server."""

import json

import pandas as pd
import pytest

from fake_openai import FakeJudgeServer
from sparse_feedback.evaluate import matched_outputs, ranking_eval_tasks
from sparse_feedback.formats import read_model_outputs


def prefers_marked(marker: str = "BETTER"):
    """A judge that rates outputs containing ``marker`` 6 (else 3) and prefers them in pairs."""

    def answer(prompt: str) -> str:
        if "Output (a)" in prompt:
            shown_a = prompt.split("Output (a):", 1)[1].split("Output (b):", 1)[0]
            return "Output (a)" if marker in shown_a else "Output (b)"
        return "Rating: 6" if marker in prompt.rsplit("Instruction:", 1)[-1] else "3"

    return answer


@pytest.fixture(autouse=True)
def own_home(tmp_path, monkeypatch):
    """Keep default caches (the judge's answers) inside the test's directory."""
    monkeypatch.setenv("SPARSE_FEEDBACK_HOME", str(tmp_path / "home"))


def outputs(tmp_path, name, rows):
    path = tmp_path / name
    path.write_text(json.dumps(rows))
    return path


REFERENCE = [{"instruction": f"Question {i}?", "output": f"reference answer {i}" + (" BETTER" if i == 4 else ""),
              "generator": "ref",
              "dataset": "selfinstruct" if i == 0 else "helpful_base"} for i in range(6)]


def candidate_rows(better):
    return [{"instruction": f"Question {i}?", "output": f"candidate {i}" + (" BETTER" if i in better else ""),
             "generator": "cand"} for i in range(6)]


@pytest.mark.slow
def test_evaluate_prints_and_saves_both_win_rates_with_intervals(cli, tmp_path):
    ref = outputs(tmp_path, "ref.json", REFERENCE)
    cand = outputs(tmp_path, "cand.json", candidate_rows(better={1, 2, 3}))
    with FakeJudgeServer(answer=prefers_marked()) as server:
        result = cli("evaluate", "--reference", ref, "--candidate", cand, "--judge-model", "judge",
                     "--base-url", server.base_url, "--output-dir", tmp_path / "eval", "--cache", tmp_path / "c.db")
    assert result.returncode == 0, result.stderr
    saved = json.loads((tmp_path / "eval" / "winrates.json").read_text())
    # candidates 1-3 are better (1), reference 4 is better (0), 0 and 5 tie (0.5; in rankings the orders disagree)
    assert saved["ratings"]["win_rate"] == pytest.approx(100 * 4 / 6)
    assert saved["rankings"]["win_rate"] == pytest.approx(100 * 4 / 6)
    assert (saved["rankings"]["wins"], saved["rankings"]["ties"], saved["rankings"]["losses"]) == (3, 2, 1)
    assert saved["rankings"]["ci95"] > 0 and saved["ratings"]["n"] == 6
    assert "ratings: win-rate 66.67" in result.stdout and "rankings: win-rate 66.67" in result.stdout
    ranked = pd.read_csv(tmp_path / "eval" / "feedback_rankings.csv")
    assert ranked["output1"].str.startswith("reference").all()


@pytest.mark.slow
def test_rerun_is_answered_from_the_cache(cli, tmp_path):
    ref = outputs(tmp_path, "ref.json", REFERENCE)
    cand = outputs(tmp_path, "cand.json", candidate_rows(better={0}))
    args = ["evaluate", "--reference", ref, "--candidate", cand, "--judge-model", "judge",
            "--cache", tmp_path / "c.db", "--exclude-dataset", "selfinstruct", "--json"]
    with FakeJudgeServer(answer=prefers_marked()) as server:
        first = cli(*args, "--base-url", server.base_url)
        sent = server.requests
        second = cli(*args, "--base-url", server.base_url)
        assert server.requests == sent
    assert sent == 5 * 2 + 5 * 2  # 5 instructions (selfinstruct left out): two ratings and two orders each
    assert json.loads(first.stdout) == json.loads(second.stdout)
    assert json.loads(first.stdout)["rankings"]["n"] == 5


@pytest.mark.slow
def test_no_instruction_in_common_is_an_input_error(cli, tmp_path):
    ref = outputs(tmp_path, "ref.json", REFERENCE)
    cand = outputs(tmp_path, "cand.json", [{"instruction": "Something else", "output": "x"}])
    result = cli("evaluate", "--reference", ref, "--candidate", cand, "--judge-model", "j",
                 "--base-url", "http://127.0.0.1:9/v1")
    assert result.returncode == 2 and "no instruction in common" in result.stderr


def test_original_reference_files_give_the_original_evaluation_tasks(seed):
    out = seed / "inference_model_outputs"
    pairs = matched_outputs(read_model_outputs(out / "davinci003.json"), read_model_outputs(out / "ratings_alpaca.json"),
                            exclude_datasets=["selfinstruct"])
    tasks = ranking_eval_tasks(pairs)
    original = pd.read_csv(out / "rankings_for_llm_eval.csv", keep_default_na=False)
    assert len(tasks) == len(original) == 553
    assert tasks["instruction"].tolist() == original["instruction"].tolist()
    assert tasks["response1"].tolist() == original["response1"].tolist()
    assert tasks["response2"].tolist() == original["response2"].tolist()
