"""The report CLI: one self-contained HTML file with the dashboards' numbers; aggregation before plotting."""

import json
import re

import pytest
from plotly.offline import get_plotlyjs
from dash_files import report_args, report_inputs

from sparse_feedback.analysis.sources import feedback_from_frames
from sparse_feedback.analysis.synthetic import synthetic_feedback
from sparse_feedback.report import figures, views


@pytest.fixture
def inputs(tmp_path):
    return report_inputs(tmp_path)


@pytest.mark.slow
def test_report_writes_one_self_contained_html_with_the_numbers(cli, inputs, tmp_path):
    out = tmp_path / "report.html"
    done = cli(*report_args(inputs, out), "--json")
    assert done.returncode == 0, done.stderr
    numbers = json.loads(done.stdout)
    text = out.read_text("utf-8")
    assert not re.search(r"<script[^>]+src=[\"']?https?:", text, re.I)
    assert not re.search(r"<link[^>]+href=[\"']?https?:", text, re.I)
    assert text.count("Plotly.newPlot") >= 5
    assert get_plotlyjs()[:500] in text  # plotly.js itself is inlined
    for row in numbers["consistency"]:
        assert f"{row['consistency']:.2f}" in text
    for row in numbers["win_rates"]:
        assert f"{row['win_rate']:.2f}" in text and f"{row['lc_win_rate']:.2f}" in text
    assert {r["candidate"] for r in numbers["win_rates"]} == {"long", "short"}
    assert numbers["position_bias"]["LLM"]["pairs"] == 80  # every pair has both parsed raw answers
    assert numbers["protocol_rank_flips"] and "The protocols disagree" in text  # the fixture's runs flip
    assert "<th>Consistency %</th>" in text and "<th>rating_source</th>" not in text  # the dashboards' headers


@pytest.mark.slow
def test_report_bad_input_is_one_line_error_and_no_file(cli, inputs, tmp_path):
    out = tmp_path / "report.html"
    bad = tmp_path / "bad.csv"
    bad.write_text("instruction,input,output,rating\nq,,r,9\n")
    done = cli("report", "--ratings", bad, "--rankings", inputs["llm_rankings"], "--output", out)
    assert done.returncode == 2 and done.stderr.startswith("error:") and "Traceback" not in done.stderr
    assert "rating" in done.stderr and not out.exists()


@pytest.mark.slow
def test_figures_and_tables_stay_aggregated_on_100k_pairs():
    frames = synthetic_feedback(n_instructions=10_000, annotators=("a", "b"), human_share=0.02)
    fb = feedback_from_frames([(frames["llm_ratings"], frames["llm_rankings"]),
                               (frames["human_ratings"], frames["human_rankings"])])
    assert len(fb.rankings) >= 100_000
    _, heatmap, result = views.consistency_view(fb, "LLM", "LLM")
    assert result.n_pairs == 100_000
    assert sum(len(row) for row in heatmap.data[0].z) <= 9
    rows, info = views.disagreement_page(fb, "ratings · LLM", "rankings · LLM")
    assert len(rows) <= views.PAGE_SIZE and "rows" in info
    length_figure, _, position = views.bias_view(fb)
    assert all(len(trace.x) <= 6 for trace in length_figure.data)
    assert len(position["LLM"][0].data[0].x) == 5
    grid_figure, grid = views.grid_view(fb)
    assert len(grid) == 9 and figures.consistency_grid_figure(grid).data[0].z.size == 9
