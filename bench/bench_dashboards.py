"""Dashboards on 100k ranked pairs: time of each tab's handler vs a naive baseline measured in this run.

    python bench/bench_dashboards.py [--instructions 10000]

Baselines: consistency by a Python loop over rows with tuple-keyed dicts; a length-bias plot of every
pair (one marker each) instead of binned shares; the whole disagreement table sent instead of one page.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import plotly.graph_objects as go

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, installed or not

from sparse_feedback.analysis.sources import feedback_from_frames, source_rankings, source_ratings, words
from sparse_feedback.analysis.synthetic import synthetic_feedback
from sparse_feedback.analysis.bias import length_bias
from sparse_feedback.report import figures, views
from sparse_feedback.report.build import build_report
from sparse_feedback.report.html import render_html


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def naive_consistency(ratings, rankings):
    lookup = {}
    for row in ratings.itertuples():
        lookup.setdefault((row.instruction, row.input, row.output), row.rating)
    agree = n = 0
    seen = set()
    for row in rankings.itertuples():
        key = (row.instruction, row.input, row.output1, row.output2)
        r1, r2 = lookup.get(key[:3]), lookup.get((row.instruction, row.input, row.output2))
        if key in seen or r1 is None or r2 is None:
            continue
        seen.add(key)
        implied = "(a)" if r1 > r2 else "(b)" if r1 < r2 else "equal"
        agree += implied == row.feedback
        n += 1
    return 100 * agree / n


def naive_length_bias(rankings):
    """Longer-preferred share by a row loop, and a plot of every pair (one marker each)."""
    longer = decisive = 0
    for row in rankings.itertuples():
        gap = len(row.output2.split()) - len(row.output1.split())
        if gap and row.feedback != "equal":
            decisive += 1
            longer += (row.feedback == "(b)") == (gap > 0)
    gaps = words(rankings, "output2") - words(rankings, "output1")
    fig = go.Figure(go.Scatter(x=gaps, y=rankings["feedback"], mode="markers"))
    return 100 * longer / decisive, fig.to_json()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instructions", type=int, default=10_000, help="x 10 pairs each (5 responses)")
    args = parser.parse_args()
    t, frames = timed(lambda: synthetic_feedback(args.instructions, annotators=("a", "b", "c"), human_share=0.1))
    t_bundle, fb = timed(lambda: feedback_from_frames([(frames["llm_ratings"], frames["llm_rankings"]),
                                                        (frames["human_ratings"], frames["human_rankings"])]))
    n_pairs = len(source_rankings(fb, "LLM"))
    print(f"{n_pairs} LLM-ranked pairs, {len(fb.rankings)} ranking rows, {len(fb.ratings)} rating rows; "
          f"bundle built in {t_bundle:.2f} s")

    t_ours, (_, _, result) = timed(lambda: views.consistency_view(fb, "LLM", "LLM"))
    t_naive, naive = timed(lambda: naive_consistency(source_ratings(fb, "LLM"), source_rankings(fb, "LLM")))
    assert abs(naive - result.consistency) < 1e-3, (naive, result.consistency)
    print(f"consistency tab      {t_ours:6.2f} s   naive loop {t_naive:6.2f} s   ratio {t_naive / t_ours:5.1f}x")

    llm_rankings = source_rankings(fb, "LLM")
    t_ours, (summary, bins) = timed(lambda: length_bias(llm_rankings, "feedback"))
    t_fig, payload = timed(lambda: figures.length_bias_figure(bins.assign(protocol="rankings", source="LLM")).to_json())
    t_naive, (naive_share, naive_payload) = timed(lambda: naive_length_bias(llm_rankings))
    assert abs(naive_share - summary["longer_preferred"]) < 1e-9
    print(f"length bias (LLM)    {t_ours + t_fig:6.2f} s ({len(payload) / 1e3:.0f} kB figure)   naive loop + "
          f"every-pair plot {t_naive:6.2f} s ({len(naive_payload) / 1e6:.1f} MB figure)   "
          f"ratio {t_naive / (t_ours + t_fig):5.1f}x")
    print(f"bias tab (all sources, both protocols, position bias) {timed(lambda: views.bias_view(fb))[0]:6.2f} s")

    a, b = "ratings · LLM", "rankings · LLM"
    t_ours, (rows, info) = timed(lambda: views.disagreement_page(fb, a, b))
    t_naive, full = timed(lambda: views.filtered_disagreements(fb, a, b).to_dict(orient="records"))
    print(f"disagreements page   {t_ours:6.2f} s   ({len(rows)} rows, {info})   whole table {t_naive:6.2f} s "
          f"({len(full)} rows)")
    for name, fn in (("grid", lambda: views.grid_view(fb)), ("agreement", lambda: views.agreement_view(fb)),
                     ("pair detail", lambda: views.detail_html(fb, a, b, "", 0, 1, 0))):
        print(f"{name:<20} {timed(fn)[0]:6.2f} s")
    t_build, report = timed(lambda: build_report(fb))
    t_html, text = timed(lambda: render_html(report))
    print(f"report               {t_build:6.2f} s analyses + {t_html:.2f} s HTML ({len(text) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
