"""The crossed win-rate table, its inversion flag and paired-bootstrap interval (issue 26)."""

import json

import numpy as np
import pandas as pd
import pytest

from sparse_feedback.analysis.crossed import (
    bootstrap_mean_interval, crossed_table, describe_inversion, inversion_pairs, reranked_with,
)
from sparse_feedback.formats import write_table
from sparse_feedback.report.inputs import EVALUATION_FILES
from tests.dash_files import candidate_files


def _run(rng, n, p_ratings, p_rankings):
    """A per-instruction table whose ratings and rankings scores (1 / 0.5 / 0) win with the given probabilities."""
    def scores(p):
        u = rng.random(n)
        return np.where(u < p, 1.0, np.where(u < p + 0.2, 0.5, 0.0))
    return pd.DataFrame({"instruction": [f"task {i}" for i in range(n)], "input": "",
                         "ratings_score": scores(p_ratings), "rankings_score": scores(p_rankings)})


def synthetic(inverted: bool, n: int = 300, seed: int = 0) -> dict:
    """Two runs: under rankings the rankings RM is ahead; under ratings it is behind (``inverted``) or ahead too."""
    rng = np.random.default_rng(seed)
    return {"job-1 · ratings RM (rm_a)": _run(rng, n, 0.55 if inverted else 0.30, 0.30),
            "job-1 · rankings RM (rm_b)": _run(rng, n, 0.30 if inverted else 0.45, 0.55)}


def test_rows_are_ordered_ratings_rm_rankings_rm_base_then_others():
    runs = {name: _run(np.random.default_rng(1), 10, 0.4, 0.4) for name in ("dpo", "rankings RM", "base",
                                                                             "x · ratings RM (a)")}
    table = crossed_table(runs)
    assert table["row"].tolist() == ["x · ratings RM (a)", "rankings RM", "base", "dpo"]
    assert table["reranked_with"].tolist() == ["ratings RM", "rankings RM", "base policy", "other"]
    assert reranked_with("Rankings RM (rm_x)") == "rankings RM"


def test_inversion_is_flagged_with_an_interval_that_excludes_zero_on_a_set_built_to_invert():
    runs = synthetic(inverted=True)
    pairs = inversion_pairs(runs)
    (pair,) = pairs.to_dict("records")
    assert pair["x"].endswith("rankings RM (rm_b)") and pair["inverted"]  # x: ahead under rankings
    assert pair["rankings_diff"] > 0 > pair["ratings_diff"]
    assert pair["dod"] == pytest.approx(pair["rankings_diff"] - pair["ratings_diff"])
    assert 0 < pair["dod_low"] < pair["dod"] < pair["dod_high"]
    assert describe_inversion(pairs).startswith("Inversion: rankings puts job-1 · rankings RM (rm_b) above")
    assert "excludes 0" in describe_inversion(pairs)


def test_no_inversion_is_flagged_on_a_set_built_not_to_invert():
    pairs = inversion_pairs(synthetic(inverted=False))
    (pair,) = pairs.to_dict("records")
    assert not pair["inverted"] and pair["rankings_diff"] > 0 and pair["ratings_diff"] > 0
    assert describe_inversion(pairs).startswith("No inversion")


def test_the_bootstrap_interval_is_the_paired_one_over_instructions():
    """The difference of differences is the mean of per-instruction differences of all four scores, and its
    percentile interval matches the normal interval of that mean (paired: one resample moves all four)."""
    runs = synthetic(inverted=True, n=400, seed=5)
    (pair,) = inversion_pairs(runs, n_boot=4000).to_dict("records")
    x, y = runs[pair["x"]], runs[pair["y"]]
    per = 100 * ((x["rankings_score"] - y["rankings_score"]) - (x["ratings_score"] - y["ratings_score"]))
    assert pair["dod"] == pytest.approx(per.mean(), abs=1e-9) and pair["n"] == 400
    half = 1.96 * per.std(ddof=1) / np.sqrt(len(per))
    assert pair["dod_low"] == pytest.approx(per.mean() - half, abs=0.1 * half)
    assert pair["dod_high"] == pytest.approx(per.mean() + half, abs=0.1 * half)
    # unpaired, the interval would be wider: the runs' scores are independent here, so about the same; a run
    # paired with itself has no spread at all, which only a paired resample gets right
    same = {"a": x, "b": x.copy()}
    (self_pair,) = inversion_pairs(same).to_dict("records")
    assert self_pair["dod_low"] == self_pair["dod_high"] == 0


def test_the_bootstrap_is_seeded_and_its_interval_has_the_mean_inside():
    values = np.random.default_rng(3).normal(2.0, 1.0, 200)
    assert bootstrap_mean_interval(values, seed=7) == bootstrap_mean_interval(values, seed=7)
    low, high = bootstrap_mean_interval(values)
    assert low < values.mean() < high and np.isnan(bootstrap_mean_interval([1.0])[0])


def _evaluation_dir(folder, files, run):
    folder.mkdir(parents=True)
    for target, source in zip(EVALUATION_FILES, ("reference", f"{run}_ratings", f"{run}_feedback")):
        (folder / target).write_bytes(files[source].read_bytes())
    return folder


def test_crossed_cells_equal_winrate_ratings_and_rankings_run_per_run(tmp_path, cli):
    files = candidate_files(tmp_path)
    dirs = {run: _evaluation_dir(tmp_path / f"{run}.eval", files, run) for run in ("long", "short")}
    out = cli("winrate", "crossed", "--runs", f"ratings RM={dirs['long']}", f"rankings RM={dirs['short']}", "--json")
    assert out.returncode == 0, out.stderr
    crossed = {r["row"]: r for r in json.loads(out.stdout)["crossed"]}
    for row, run in (("ratings RM", "long"), ("rankings RM", "short")):
        for protocol, args in (("ratings", ["--reference", files["reference"], "--candidate", files[f"{run}_ratings"]]),
                               ("rankings", ["--feedback", files[f"{run}_feedback"]])):
            single = cli("winrate", protocol, *args, "--json")
            assert single.returncode == 0, single.stderr
            expected = json.loads(single.stdout)
            cell = crossed[row]
            assert (cell[f"{protocol}_win_rate"], cell[f"{protocol}_ci95"], cell[f"{protocol}_n"]) == \
                (expected["win_rate"], expected["ci95"], expected["n"]), (row, protocol)
    text = cli("winrate", "crossed", "--runs", f"ratings RM={dirs['long']}", f"rankings RM={dirs['short']}")
    assert text.returncode == 0 and "Ratings evaluation" in text.stdout and "nversion" in text.stdout


def test_crossed_names_a_best_of_n_jobs_runs_by_their_rm(cli):
    from tests.appserver import ROOT

    job = ROOT / "assets" / "demo" / "best_of_n" / "job"
    out = cli("winrate", "crossed", "--runs", job / "best_of_n_1.eval", job / "best_of_n_2.eval", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)["crossed"]
    assert [r["reranked_with"] for r in rows] == ["ratings RM", "rankings RM"]


def test_crossed_refuses_a_folder_that_is_not_an_evaluation_in_one_line(tmp_path, cli):
    out = cli("winrate", "crossed", "--runs", tmp_path)
    assert out.returncode == 2 and "not an evaluated run" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_a_run_with_only_one_protocol_leaves_the_other_cell_empty():
    runs = synthetic(inverted=True, n=20)
    first = next(iter(runs))
    runs[first] = runs[first].assign(rankings_score=np.nan)
    table = crossed_table(runs)
    row = table[table["row"] == first].iloc[0]
    assert np.isnan(row["rankings_win_rate"]) and row["rankings_n"] == 0 and row["ratings_n"] == 20
    assert inversion_pairs(runs)["n"].tolist() == [0]


def test_the_html_report_shows_the_crossed_table_its_flag_and_the_leaderboard(tmp_path):
    from sparse_feedback.analysis.sources import feedback_from_frames
    from sparse_feedback.report.build import build_report
    from sparse_feedback.report.html import render_html
    from sparse_feedback.report.inputs import load_runs
    from sparse_feedback.report.views import crossed_cells

    files = candidate_files(tmp_path)
    runs = load_runs(str(files["reference"]), [f"ratings RM={files['long_ratings']}",
                                               f"rankings RM={files['short_ratings']}"],
                     [f"ratings RM={files['long_feedback']}", f"rankings RM={files['short_feedback']}"])
    report = build_report(feedback_from_frames([]), runs)
    text = render_html(report)
    for cell in crossed_cells(report.crossed).iloc[:, 2:].to_numpy().ravel():
        assert cell.replace("±", "&plusmn;") in text or cell in text
    assert describe_inversion(report.inversions) in text.replace("&#x27;", "'")
    numbers = report.numbers()
    assert [r["row"] for r in numbers["crossed"]] == ["ratings RM", "rankings RM"]
    assert {r["model"] for r in numbers["leaderboard"]} == {"ratings RM", "rankings RM", "reference"}
    assert "Bradley–Terry" in text and "Policies ranked by each protocol" in text
