"""Calibrating a small local judge: joint rating bins, rankings from both orders' probabilities."""

import json

import pandas as pd
import pytest

from sparse_feedback.evaluate.calibrate import calibrate_ratings
from tiny_models import tiny_causal_lm


@pytest.fixture(autouse=True)
def own_home(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSE_FEEDBACK_HOME", str(tmp_path / "home"))


def test_reference_and_candidate_ratings_share_one_scale():
    ref = pd.DataFrame({"rating": [1, 1, 1], "expected_rating": [1.1, 1.2, 1.3]})
    cand = pd.DataFrame({"rating": [1, 1, 1], "expected_rating": [2.1, 2.2, 2.3]})
    ref_cal, cand_cal = calibrate_ratings(ref, cand)
    assert ref_cal["rating"].max() < cand_cal["rating"].min()  # binned together, not each on its own
    assert ref_cal["raw_rating"].tolist() == [1, 1, 1]


@pytest.mark.slow
def test_local_judge_with_calibration_gives_decided_rankings_and_readable_files(cli, tmp_path):
    judge = tiny_causal_lm(tmp_path / "judge", chat=True)
    rows = [{"instruction": f"Name colour {i}.", "output": text} for i, text in enumerate(["red", "blue", "a green"])]
    (tmp_path / "ref.json").write_text(json.dumps(rows))
    (tmp_path / "cand.json").write_text(json.dumps([{**r, "output": r["output"] + " one"} for r in rows]))
    result = cli("evaluate", "--reference", tmp_path / "ref.json", "--candidate", tmp_path / "cand.json",
                 "--judge-model", judge, "--backend", "transformers", "--calibrate", "--output-dir", tmp_path / "ev",
                 "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    ranked = pd.read_csv(tmp_path / "ev" / "feedback_rankings.csv")
    assert set(ranked["raw_feedback"]) <= {"(a)", "(b)", "equal"} and "feedback" in ranked
    again = cli("winrate", "ratings", "--reference", tmp_path / "ev" / "feedback_ratings_reference.csv",
                "--candidate", tmp_path / "ev" / "feedback_ratings_candidate.csv", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == json.loads(result.stdout)["ratings"]
