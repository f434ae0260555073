"""Plotly figures for the dashboards and the HTML report; each takes an already aggregated result,
so a figure holds a handful of marks however many pairs lie behind it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sparse_feedback.analysis.bias import OUTCOMES, PositionBias
from sparse_feedback.analysis.consistency import Consistency
from sparse_feedback.formats.schema import LABELS

PROTOCOL_COLOURS = {"ratings": "#4c72b0", "rankings": "#dd8452"}


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=dict(l=60, r=20, t=50, b=50), template="plotly_white")
    return fig


def consistency_heatmap(result: Consistency, title: str = "") -> go.Figure:
    """Implied-by-ratings (rows) vs given-by-rankings (columns): counts and row percentages."""
    counts = np.array([[result.confusion[i][f] for f in LABELS] for i in LABELS], dtype=float)
    rows = counts.sum(axis=1, keepdims=True)
    pct = np.divide(100 * counts, rows, out=np.zeros_like(counts), where=rows > 0)
    text = [[f"{int(c)}<br>{p:.1f} %" for c, p in zip(cr, pr)] for cr, pr in zip(counts, pct)]
    fig = go.Figure(go.Heatmap(z=pct, x=list(LABELS), y=list(LABELS), text=text, texttemplate="%{text}",
                               colorscale="Blues", zmin=0, zmax=100, colorbar=dict(title="row %"),
                               hovertemplate="implied %{y}, ranked %{x}: %{text}<extra></extra>"))
    fig.update_xaxes(title="given by rankings", side="bottom")
    fig.update_yaxes(title="implied by ratings", autorange="reversed")
    head = f"consistency {result.consistency:.2f} % over {result.n_pairs} pairs"
    return _layout(fig, f"{title}<br><sup>{head}</sup>" if title else head)


def consistency_grid_figure(grid: pd.DataFrame) -> go.Figure:
    """Consistency % of every (ratings source, rankings source) pairing, with the pair count."""
    pct = grid.pivot(index="rating_source", columns="ranking_source", values="consistency")
    n = grid.pivot(index="rating_source", columns="ranking_source", values="n_pairs").reindex_like(pct)
    text = [[f"{p:.1f} %<br>n={int(c)}" if c == c and p == p else "" for p, c in zip(pr, cr)]
            for pr, cr in zip(pct.to_numpy(), n.to_numpy())]
    fig = go.Figure(go.Heatmap(z=pct.to_numpy(), x=list(pct.columns), y=list(pct.index), text=text,
                               texttemplate="%{text}", colorscale="Viridis", zmin=0, zmax=100,
                               colorbar=dict(title="consistency %")))
    fig.update_xaxes(title="rankings from")
    fig.update_yaxes(title="ratings from", autorange="reversed")
    return _layout(fig, "Consistency of every source pairing")


def winrate_figure(table: pd.DataFrame, value: str = "win_rate", ci: str = "ci95") -> go.Figure:
    """Ratings- and rankings-protocol win-rates per candidate, side by side, with 95 % error bars."""
    fig = go.Figure()
    for protocol, colour in PROTOCOL_COLOURS.items():
        part = table[table["protocol"] == protocol]
        # Long run names ("best-of-n job-1 · ratings RM (…)") break at their "·" instead of slanting.
        fig.add_bar(name=protocol, x=part["candidate"].str.replace(" · ", "<br>", regex=False), y=part[value],
                    marker_color=colour,
                    error_y=dict(type="data", array=part[ci].fillna(0).to_numpy(), visible=True))
    fig.add_hline(y=50, line_dash="dash", line_color="grey", annotation_text="reference (50 %)")
    fig.update_yaxes(title="win-rate vs reference (%)", range=[0, 100])
    title = "Length-controlled win-rate" if value.startswith("lc") else "Win-rate"
    return _layout(fig.update_layout(barmode="group"), f"{title} per candidate")


SOURCE_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b2", "#937860", "#da8bc3", "#8c8c8c")
PROTOCOL_DASH = {"ratings": "solid", "rankings": "dash"}
PROTOCOL_SYMBOL = {"ratings": "circle", "rankings": "diamond-open"}


def equal_share(part: pd.DataFrame) -> float:
    """Percent of all pairs in ``part`` (per-bin rows of one series) answered "equal".

    >>> equal_share(pd.DataFrame({"pairs": [10, 30], "equal": [100.0, 50.0]}))
    62.5
    """
    pairs = part["pairs"].sum()
    return float((part["pairs"] * part["equal"].fillna(0)).sum() / pairs) if pairs else float("nan")


def length_bias_figure(bins: pd.DataFrame) -> go.Figure:
    """Share of decisive pairs won by the longer response, per length-gap bin: one colour per source, the
    protocol by line style and marker (ratings solid ●, rankings dashed ◇), the legend grouped by source.
    Light bars behind show each series' share of "equal" answers, which the line leaves out: a line at 0 %
    drawn from the few decisive pairs of a judge that says "equal" to most must not read as the whole story."""
    fig = go.Figure()
    sources = list(pd.unique(bins["source"])) if len(bins) else []
    for (protocol, source), part in bins.groupby(["protocol", "source"], sort=False):
        colour = SOURCE_COLOURS[sources.index(source) % len(SOURCE_COLOURS)]
        equal = equal_share(part)
        fig.add_bar(x=part["gap_words"], y=part["equal"], name=f"{source} · {protocol}: equal {equal:.0f} %",
                    legendgroup=source, legendgrouptitle_text=source, marker=dict(color=colour, opacity=0.22),
                    customdata=part["pairs"], hovertemplate=f"{source} · {protocol}: "
                    "%{y:.1f} % equal (pairs %{customdata})<extra></extra>")
        fig.add_scatter(x=part["gap_words"], y=part["longer_preferred"], mode="lines+markers",
                        name=f"{source} · {protocol}", legendgroup=source, legendgrouptitle_text=source,
                        line=dict(color=colour, dash=PROTOCOL_DASH.get(protocol, "dot"), width=2.5),
                        marker=dict(symbol=PROTOCOL_SYMBOL.get(protocol, "square"), size=9, color=colour),
                        customdata=part["pairs"], hovertemplate=f"{source} · {protocol}: "
                        "longer preferred in %{y:.1f} % of the decisive pairs (%{customdata} pairs in this gap)"
                        "<extra></extra>")
    fig.add_hline(y=50, line_dash="dot", line_color="grey")
    fig.update_xaxes(title="length gap (words)", type="category")
    fig.update_yaxes(title="longer preferred (lines) · equal (bars) (%)", range=[0, 100])
    fig.update_layout(legend=dict(groupclick="toggleitem"), barmode="group")
    return _layout(fig, "Length bias: preference vs length gap (solid: ratings, dashed: rankings; bars: equal)")


def agreement_heatmap(pairs: pd.DataFrame) -> go.Figure:
    """Cohen's κ between every pair of sources, one panel per protocol; each cell also shows Krippendorff's α
    and the number of shared items (``pairs``: rows of :func:`~sparse_feedback.analysis.agreement.source_agreement`)."""
    protocols = list(pd.unique(pairs["protocol"])) if len(pairs) else []
    fig = make_subplots(rows=1, cols=max(1, len(protocols)), subplot_titles=protocols or [""], shared_yaxes=True,
                        horizontal_spacing=0.04)
    for i, protocol in enumerate(protocols, start=1):
        part = pairs[pairs["protocol"] == protocol]
        order = list(pd.unique(part["source_a"]))
        grid = {k: part.pivot(index="source_a", columns="source_b", values=k).reindex(index=order, columns=order)
                for k in ("kappa", "alpha", "n")}
        text = [[f"κ {k:.2f}<br>α {a:.2f}" if n else "–" for k, a, n in zip(*rows)]
                for rows in zip(grid["kappa"].to_numpy(), grid["alpha"].to_numpy(), grid["n"].to_numpy())]
        fig.add_trace(go.Heatmap(z=grid["kappa"].to_numpy(), x=order, y=order, text=text, texttemplate="%{text}",
                                 customdata=grid["n"].to_numpy(), zmin=-1, zmax=1, colorscale="RdBu",
                                 showscale=i == 1, colorbar=dict(title="Cohen's κ"),
                                 hovertemplate="%{y} vs %{x}: %{text} on %{customdata} items<extra></extra>"),
                      row=1, col=i)
        fig.update_yaxes(autorange="reversed", row=1, col=i)
    return _layout(fig, "Agreement between sources: Cohen's κ (colour) and Krippendorff's α", height=460)


def position_bias_figure(result: PositionBias) -> go.Figure:
    """Pairs by how the two orders answered: consistent for one response, or following the position."""
    counts = [result.counts.get(o, 0) for o in OUTCOMES]
    colours = ["#4c72b0", "#55a868", "#c44e52", "#8172b2", "#999999"]
    fig = go.Figure(go.Bar(x=list(OUTCOMES), y=counts, marker_color=colours, text=counts, textposition="auto"))
    fig.update_yaxes(title="pairs")
    title = (f"Position bias: {result.order_dependent:.1f} % order-dependent, first shown won "
             f"{result.first_shown_won:.1f} % of those") if result.pairs else "Position bias: no raw answers"
    return _layout(fig, title)


def leaderboard_figure(table: pd.DataFrame) -> go.Figure:
    """Both orderings side by side: each policy's rank by Bradley–Terry (rankings) on the left and by mean rating
    (ratings) on the right, joined by a line, so a crossing line is a policy the protocols place differently."""
    fig = go.Figure()
    columns = ["rankings: Bradley–Terry", "ratings: mean rating"]
    for i, r in enumerate(table.itertuples(index=False)):
        colour = SOURCE_COLOURS[i % len(SOURCE_COLOURS)]
        ranks = [r.rankings_rank, r.ratings_rank]
        labels = [f"{r.bt_score:.2f}" if r.bt_score == r.bt_score else "–",
                  f"{r.ratings_mean:.2f}" if r.ratings_mean == r.ratings_mean else "–"]
        fig.add_scatter(x=columns, y=ranks, mode="lines+markers+text", name=str(r.model), text=labels,
                        textposition=["middle left", "middle right"], line=dict(color=colour, width=3),
                        marker=dict(size=12, color=colour),
                        hovertemplate=f"{r.model}: rank %{{y}} (%{{x}}: %{{text}})<extra></extra>")
    count = max(len(table), 1)
    fig.update_yaxes(title="rank (1 = best)", autorange="reversed", tickmode="linear", dtick=1,
                     range=[count + 0.5, 0.5])
    fig.update_xaxes(range=[-0.6, 1.6])
    return _layout(fig, "Policies ranked by each protocol (score beside each point)", height=max(320, 70 * count))
