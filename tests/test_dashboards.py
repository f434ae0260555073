"""The dashboards show the numbers the report CLI prints for the same data: a real store, real
annotators submitting through it, the page handlers on one side and ``report --json`` on the other."""

import json

import numpy as np
import pandas as pd
import pytest
from dash_files import candidate_files, generation_of, judge_order_rows

from pages import agreement, bias, consistency, disagreements, winrates
from pages.research import researcher
from sparse_feedback.analysis.synthetic import synthetic_feedback
from sparse_feedback import analysis
from sparse_feedback.formats import (
    RANKING_FEEDBACK, RATING_FEEDBACK, read_ranking_feedback, read_rating_feedback, write_table,
)
from sparse_feedback.errors import InputError
from sparse_feedback.report.inputs import EVALUATION_FILES, evaluated_runs
from sparse_feedback.report.views import PAGE_SIZE
from sparse_feedback.store import Store
from sparse_feedback.report.tables import header, readable, turned

ANNOTATORS = ("ann1", "ann2", "ann3")


def _annotate(store, project, rng):
    """Each annotator answers every task the store assigns them (ratings 1-7, rankings left/right/equal)."""
    for who in ANNOTATORS:
        for protocol in ("ratings", "rankings"):
            while (task := store.next_task(project, who, protocol)) is not None:
                if protocol == "ratings":
                    choice = int(np.clip(round(len(task.response.split()) / 20 + rng.normal(0, 1)), 1, 7))
                else:
                    gap = len(task.left.split()) - len(task.right.split()) + rng.normal(0, 15)
                    choice = "left" if gap > 5 else "right" if gap < -5 else "equal"
                store.submit(who, task.assignment_id, choice)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """(store, project name, paths of the same feedback as files)."""
    tmp = tmp_path_factory.mktemp("dash")
    store = Store(f"sqlite:///{tmp / 'store.db'}")
    frames = synthetic_feedback(n_instructions=6, n_responses=4, annotators=())
    store.create_project_from_generation(generation_of(frames["llm_ratings"]), "study", overlap=len(ANNOTATORS))
    store.import_llm_ratings("study", frames["llm_ratings"], "judge-model")
    store.import_llm_rankings("study", judge_order_rows(frames["llm_rankings"]), "judge-model")
    _annotate(store, "study", np.random.default_rng(7))
    paths = {"llm_ratings": tmp / "llm_ratings.csv", "llm_rankings": tmp / "llm_rankings.csv",
             "human_ratings": tmp / "human_ratings.csv", "human_rankings": tmp / "human_rankings.csv"}
    write_table(frames["llm_ratings"], paths["llm_ratings"])
    write_table(frames["llm_rankings"], paths["llm_rankings"])  # as `judge rankings` writes it
    human = ["annotator", "seconds"]  # what the analyses need besides the canonical columns
    write_table(store.human_ratings("study")[[*RATING_FEEDBACK.columns, *human]], paths["human_ratings"])
    write_table(store.human_rankings("study")[[*RANKING_FEEDBACK.columns, *human]], paths["human_rankings"])
    paths.update(candidate_files(tmp))
    yield store, "study", paths
    store.close()


@pytest.fixture(scope="module")
def cli_numbers(project, tmp_path_factory):
    from conftest import run_cli

    _, _, p = project
    out = tmp_path_factory.mktemp("out") / "report.html"
    done = run_cli("report", "--ratings", p["llm_ratings"], "--rankings", p["llm_rankings"],
                   "--ratings2", p["human_ratings"], "--rankings2", p["human_rankings"],
                   "--reference-ratings", p["reference"], "--candidate-ratings", p["long_ratings"], p["short_ratings"],
                   "--winrate-feedback", p["long_feedback"], p["short_feedback"], "--output", out, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records"))


def _shown(records: list[dict], **kw) -> list[dict]:
    """The CLI's numbers as the tab shows them (human headers, two decimals)."""
    return _records(readable(pd.DataFrame(records), **kw))


@pytest.mark.slow
def test_consistency_tab_shows_the_cli_numbers_for_every_source_pairing(project, cli_numbers):
    store, name, _ = project
    for row in cli_numbers["consistency"]:
        picked = consistency.show(store, name, row["rating_source"], row["ranking_source"])
        headline = picked[2]
        assert f"**{row['consistency']:.2f} %** over **{row['n_pairs']}** pairs" in headline
    grid = picked[5]["value"]  # shown: this project has several sources
    assert _records(grid) == _shown(cli_numbers["consistency"])
    assert {"LLM", "all humans", "majority of humans", "annotator: ann2"} <= set(picked[0]["choices"])
    one, _, head, heatmap, _, _ = consistency.show(store, name, "annotator: ann2", "LLM")
    assert one["value"] == "annotator: ann2" and len(heatmap.data[0].z) == 3


def test_agreement_tab_shows_the_cli_numbers(project, cli_numbers):
    store, name, _ = project
    note, summary, heatmap, pairs, annotators = agreement.show(store, name)
    heatmap, pairs, annotators = heatmap["value"], pairs["value"], annotators["value"]
    assert note.startswith("3 annotators")
    assert _records(summary) == _records(turned(readable(pd.DataFrame(cli_numbers["agreement"])), "Protocol"))
    seconds = header("median_seconds")
    assert [{k: v for k, v in r.items() if k != seconds} for r in _records(annotators)] == \
        [{k: v for k, v in r.items() if k != seconds} for r in _shown(cli_numbers["annotators"])]
    assert len(pairs) == 6 and len(pairs) <= PAGE_SIZE  # 3 annotator pairs x 2 protocols
    # Beside the table: κ between every pair of sources (LLM, majority, 3 annotators), one panel per protocol.
    assert [len(t.z) for t in heatmap.data] == [5, 5] and heatmap.data[0].z[0][0] == pytest.approx(1.0)
    assert cli_numbers["agreement"][0]["annotators"] == 3


def test_bias_tab_shows_the_cli_numbers(project, cli_numbers):
    store, name, _ = project
    length_figure, summary, position_figure, position = bias.show(store, name)
    assert _records(summary) == _shown(cli_numbers["length_bias"])
    ui = _records(position)[0]
    cli = cli_numbers["position_bias"]["LLM"]
    assert ui["Judge"] == "LLM" and ui["Pairs"] == str(cli["pairs"]) == "36"  # 6 items x 6 pairs
    assert float(ui["Order-dependent %"]) == pytest.approx(cli["order_dependent"], abs=0.005)
    assert float(ui["First shown won %"]) == pytest.approx(cli["first_shown_won"], abs=0.005)
    # One colour per source, the protocol by line style; bars behind give each series' share of "equal".
    styles = {t.name: (t.line.color, t.line.dash) for t in length_figure.data if t.type == "scatter"}
    llm, humans = styles["LLM · ratings"], styles["all humans · rankings"]
    assert llm[0] == styles["LLM · rankings"][0] != humans[0] and llm[1] != styles["LLM · rankings"][1]


def test_disagreement_explorer_counts_match_and_pages_stay_small(project, cli_numbers):
    store, name, _ = project
    for label, count in cli_numbers["disagreements"].items():
        a, b = label.split(" vs ")
        (pa, sa), (pb, sb) = (x.rsplit(" ", 1)[::-1] for x in (a, b))
        _, _, rows, info = disagreements.table(store, name, f"{pa} · {sa}", f"{pb} · {sb}", "", 0, 1)
        assert info.endswith(f"· {count} rows") and len(rows) <= PAGE_SIZE
    _, _, rows, _ = disagreements.table(store, name, "ratings · LLM", "rankings · LLM", "", 0, 1)
    sizes = rows["Size"].astype(float).tolist()
    assert sizes == sorted(sizes, reverse=True) and all(len(s.split(".")[-1]) <= 2 for s in rows["Size"])
    assert list(rows.columns[-3:]) == ["Instruction", "Output 1", "Output 2"]
    html = disagreements.detail(store, name, "ratings · LLM", "rankings · LLM", "", 0, 1, 0)
    assert "raw_answer_ab" in html and "Output (" in html and "ann1" in html and "ann3" in html


def test_winrates_tab_shows_the_cli_numbers_and_the_protocol_flip(project, cli_numbers):
    store, name, p = project
    flag, bars, lc_bars, table, by_length, rows, info, *crossing = winrates.show(
        store, name, str(p["reference"]), [str(p["long_ratings"]), str(p["short_ratings"])],
        [str(p["long_feedback"]), str(p["short_feedback"])])
    assert _records(table) == _shown(cli_numbers["win_rates"], intervals={"win_rate": "ci95", "lc_win_rate": "lc_ci95"})
    assert cli_numbers["protocol_rank_flips"] and flag.startswith("**The protocols disagree")
    assert len(bars.data) == 2 and len(rows) <= PAGE_SIZE and "60 rows" in info
    inversion, crossed, pairs, orderings, board_plot, board = crossing
    by_run = {r["Run"]: r for r in _records(crossed)}
    for r in cli_numbers["win_rates"]:  # each cell: the win-rate table's number, its interval and n
        cell = by_run[r["candidate"]][f"{r['protocol'].capitalize()} evaluation"]
        assert cell == f"{r['win_rate']:.1f} ± {r['ci95']:.1f} (n={r['n']})"
    assert len(pairs) == 1 and inversion.startswith("**")
    assert set(board["Policy"]) == {"long_ratings", "short_ratings", "reference"} and len(board_plot.data) == 3


def test_dashboards_are_for_researchers_only(project):
    from sparse_feedback.ui.access import AccessError
    import gradio as gr

    store, name, _ = project

    class Annotator:
        def require(self, request, typed_name, what, project=None):
            raise AccessError("only a viewer, a researcher or an admin can do this")

    handler = researcher(consistency.show, store, Annotator())
    with pytest.raises(gr.Error):
        handler("someone", name, "LLM", "LLM", None)
    assert all(isinstance(u, dict) for u in researcher(consistency.show, store, Annotator(), quiet=6)(
        "someone", name, "LLM", "LLM", None))


@pytest.mark.slow
def test_dashboard_endpoints_answer_a_researcher_and_refuse_an_annotator(tmp_path):
    from gradio_client import Client

    from sparse_feedback.store.demo import load_demo
    from tests.appserver import ROOT, running_app

    with running_app(tmp_path, setup=lambda store: load_demo(store, ROOT / "assets" / "demo")) as (url, _):
        admin = Client(url, auth=("root", "root-pw"), verbose=False)
        out = admin.predict("", "demo", None, None, api_name="/consistency")
        demo = ROOT / "assets" / "demo"
        expected = analysis.consistency(read_rating_feedback(demo / "llm_ratings.csv"),
                               read_ranking_feedback(demo / "llm_rankings.csv"))
        assert f"**{expected.consistency:.2f} %** over **{expected.n_pairs}** pairs" in out[2]
        rows = admin.predict("", "demo", None, None, "", 0, 1, api_name="/disagreements")
        assert rows[3].startswith("page 1 of")
        annotator = Client(url, auth=("alice", "alice-pw"), verbose=False)
        with pytest.raises(Exception, match="admin"):
            annotator.predict("", "demo", None, None, api_name="/consistency")


@pytest.mark.slow
def test_winrates_tab_reads_runs_that_evaluate_wrote_under_the_data_home(tmp_path, monkeypatch, cli):
    """Best-of-n outputs, once evaluated, are offered in the tab and give the winrate CLI's numbers."""
    home = tmp_path / "home"
    monkeypatch.setenv("SPARSE_FEEDBACK_HOME", str(home))
    files = candidate_files(tmp_path)
    run = home / "best_of_n" / "job-1" / "eval_long"
    run.mkdir(parents=True)
    for target, source in zip(EVALUATION_FILES, ("reference", "long_ratings", "long_feedback")):
        (run / target).write_bytes(files[source].read_bytes())
    (run / "winrates.json").write_text("{}")
    (home / "stray").mkdir()
    (home / "stray" / "winrates.json").write_text("{}")  # no feedback files: not offered

    assert evaluated_runs(home) == ["best_of_n/job-1/eval_long"]
    _, _, _, table, *_ = winrates.show(None, None, None, [], [], 1, ["best_of_n/job-1/eval_long"])
    rows = {r["Protocol"]: r for r in _records(table)}
    expected = {}
    for protocol, args in (("ratings", ["--reference", files["reference"], "--candidate", files["long_ratings"]]),
                           ("rankings", ["--feedback", files["long_feedback"]])):
        out = cli("winrate", protocol, *args, "--json")
        assert out.returncode == 0, out.stderr
        expected[protocol] = json.loads(out.stdout)["win_rate"]
    assert {r["Candidate"] for r in rows.values()} == {"best_of_n/job-1/eval_long"}
    assert rows["ratings"]["Win-rate %"].startswith(f"{expected['ratings']:.1f} ± ")
    assert rows["rankings"]["Win-rate %"].startswith(f"{expected['rankings']:.1f} ± ")
    with pytest.raises(InputError):
        winrates.show(None, None, None, [], [], 1, ["../outside"])


def test_agreement_with_one_source_says_so_instead_of_a_trivial_heatmap(tmp_path):
    """The public demo (one LLM judge, no humans): a sentence, no 1×1 heatmap, no empty annotator tables."""
    from sparse_feedback.store.demo import load_demo
    from tests.appserver import ROOT

    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    load_demo(store, ROOT / "assets" / "demo")
    note, summary, heatmap, pairs, annotators = agreement.show(store, "demo")
    assert "needs two sources" in note and heatmap["visible"] is False
    assert pairs["visible"] is False and annotators["visible"] is False
    assert list(summary.columns) == ["Measure", "ratings", "rankings"]
    store.close()
