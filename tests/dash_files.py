"""Small synthetic report inputs written as files (LLM and human feedback, two candidate runs)."""

from pathlib import Path

import numpy as np
import pandas as pd

from sparse_feedback.analysis.synthetic import synthetic_feedback
from sparse_feedback.formats import write_table
from sparse_feedback.judge.parse import parse_position


def candidate_files(directory: Path, n: int = 30, seed: int = 3) -> dict:
    """Reference ratings, and per run ('long', 'short') candidate ratings and pairwise feedback files."""
    rng = np.random.default_rng(seed)
    inst = [f"Task {i}: describe item {i}." for i in range(n)]
    ref = pd.DataFrame({"instruction": inst, "input": "", "output": [f"ref {i} " + "w " * 20 for i in range(n)],
                        "rating": rng.integers(3, 6, n)})
    paths = {"reference": directory / "reference_ratings.csv"}
    write_table(ref, paths["reference"])
    for name, words, boost in (("long", 60, 1), ("short", 5, 0)):
        cand = ref.assign(output=[f"{name} {i} " + "w " * words for i in range(n)],
                          rating=np.clip(ref["rating"] + rng.integers(-1, 1 + boost, n), 1, 7))
        # the pairwise judge is stricter with the long run than its ratings are
        labels = rng.choice(["(a)", "(b)", "equal"], n, p=[0.6, 0.3, 0.1] if boost else [0.3, 0.5, 0.2])
        fb = pd.DataFrame({"instruction": inst, "input": "", "output1": ref["output"], "output2": cand["output"],
                           "feedback": labels})
        paths[f"{name}_ratings"] = directory / f"{name}_ratings.csv"
        paths[f"{name}_feedback"] = directory / f"{name}_feedback.csv"
        write_table(cand, paths[f"{name}_ratings"])
        write_table(fb, paths[f"{name}_feedback"])
    return paths


def report_inputs(directory: Path, n_instructions: int = 8) -> dict:
    """Feedback files (LLM with both raw answers, humans with annotator and seconds) plus candidate files."""
    frames = synthetic_feedback(n_instructions=n_instructions, annotators=("ann1", "ann2", "ann3"))
    paths = {name: directory / f"{name}.csv" for name in frames}
    for name, frame in frames.items():
        write_table(frame, paths[name])
    return {**paths, **candidate_files(directory)}


def report_args(paths: dict, output: Path) -> list:
    return ["report", "--ratings", paths["llm_ratings"], "--rankings", paths["llm_rankings"],
            "--ratings2", paths["human_ratings"], "--rankings2", paths["human_rankings"],
            "--reference-ratings", paths["reference"],
            "--candidate-ratings", f"long={paths['long_ratings']}", f"short={paths['short_ratings']}",
            "--winrate-feedback", f"long={paths['long_feedback']}", f"short={paths['short_feedback']}",
            "--output", output]


def generation_of(ratings: pd.DataFrame) -> pd.DataFrame:
    """A generation frame (instruction, input, responses) holding the rated responses."""
    grouped = ratings.groupby(["instruction", "input"], sort=False)["output"].agg(list).reset_index()
    return grouped.rename(columns={"output": "responses"})


def judge_order_rows(rankings: pd.DataFrame) -> pd.DataFrame:
    """The judge's two orders as the app stores them: one row per order, label as the position picked."""
    ab = rankings.assign(feedback=rankings["raw_answer_ab"].map(parse_position), raw_answer=rankings["raw_answer_ab"])
    ba = rankings.assign(output1=rankings["output2"], output2=rankings["output1"],
                         feedback=rankings["raw_answer_ba"].map(parse_position), raw_answer=rankings["raw_answer_ba"])
    cols = ["instruction", "input", "output1", "output2", "feedback", "raw_answer"]
    return pd.concat([ab[cols], ba[cols]], ignore_index=True)
