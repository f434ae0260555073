"""Run the budget simulation end to end: load a set, sweep, and write its table, ratio table and plot."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from sparse_feedback.settings import cache_dir
from sparse_feedback.study.simulate import BUDGETS, ESTIMATES, TEMPERATURE, ratio_intervals, simulate, summarize

PAPER = Path(__file__).resolve().parents[2] / "assets" / "demo" / "paper"  # the paper's sample, shipped


def feature_function(kind: str, model: str = "smollm2-135m", progress=None, cache: bool = True):
    """``(instructions, inputs, responses) -> array`` for :func:`~sparse_feedback.study.datasets.from_feedback`.
    ``cache``: model features are kept under the cache dir, keyed by the model and every text, so a rerun on the
    same set skips the forward passes."""
    from sparse_feedback.study.features import hashed_features, model_features

    if kind == "hashed":
        return lambda instructions, inputs, responses: hashed_features(responses)

    def compute(instructions, inputs, responses):
        key = hashlib.sha256(json.dumps([model, list(instructions), list(inputs), list(responses)]).encode())
        path = cache_dir() / "features" / f"{key.hexdigest()[:32]}.npy"
        if cache and path.exists():
            return np.load(path)
        features = model_features(instructions, inputs, responses, model, progress=progress)
        if cache:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, features)
        return features

    return compute


def load_set(name: str, ratings=None, rankings=None, features: str = "model", model: str = "smollm2-135m",
             progress=None, cache: bool = True):
    """``synthetic``, ``paper`` (the shipped sample) or ``file`` (``ratings`` and ``rankings`` paths)."""
    from sparse_feedback import formats
    from sparse_feedback.study.datasets import from_feedback, synthetic_set

    if name == "synthetic":
        return synthetic_set()
    if name == "paper":
        ratings, rankings = PAPER / "llm_ratings.csv", PAPER / "llm_rankings.csv"
    r = formats.read_rating_feedback(ratings, warn=lambda _m: None)
    k = formats.read_ranking_feedback(rankings, warn=lambda _m: None)
    return from_feedback(name if name != "file" else Path(rankings).stem, r, k,
                         feature_function(features, model, progress, cache))


def budget_figure(summary: pd.DataFrame):
    """Labels vs held-out accuracy, one line per strategy with its 95 % band over seeds, one panel per set."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    sets = list(pd.unique(summary["dataset"]))
    fig = make_subplots(rows=1, cols=len(sets), subplot_titles=sets)
    colours = ["#4c72b0", "#dd8452", "#55a868", "#c44e52"]
    for col, name in enumerate(sets, start=1):
        part = summary[summary["dataset"] == name]
        for k, (strategy, curve) in enumerate(part.groupby("strategy", sort=False)):
            curve, colour = curve.sort_values("labels"), colours[k % len(colours)]
            x = curve["labels"].tolist()
            fig.add_trace(go.Scatter(x=x + x[::-1], y=(curve["accuracy"] + curve["band"]).tolist()
                                     + (curve["accuracy"] - curve["band"]).tolist()[::-1], fill="toself",
                                     fillcolor=colour, opacity=0.15, line=dict(width=0), hoverinfo="skip",
                                     showlegend=False), row=1, col=col)
            fig.add_trace(go.Scatter(x=x, y=curve["accuracy"], mode="lines+markers", name=strategy,
                                     line=dict(color=colour), legendgroup=strategy, showlegend=col == 1),
                          row=1, col=col)
        fig.update_xaxes(title_text="labels", type="log", row=1, col=col)
        fig.update_yaxes(title_text="held-out pairwise accuracy (%)", row=1, col=col)
    fig.update_layout(height=420, width=520 * len(sets), title="Labels vs accuracy per queue strategy (95 % bands)")
    return fig


def tables(results: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the per-budget summary, the ratio table with its bootstrap intervals)."""
    return summarize(results), ratio_intervals(results)


def write_outputs(results: pd.DataFrame, summary: pd.DataFrame, ratio: pd.DataFrame, output: Path) -> dict:
    """``results.csv``, ``summary.csv``, ``ratio.csv`` and ``budget.html`` (``budget.png`` too where kaleido
    works) under ``output``; returns ``{name: path}``."""
    output.mkdir(parents=True, exist_ok=True)
    paths = {"results": output / "results.csv", "summary": output / "summary.csv", "ratio": output / "ratio.csv",
             "plot": output / "budget.html"}
    results.to_csv(paths["results"], index=False)
    summary.round(4).to_csv(paths["summary"], index=False)
    ratio.round(4).to_csv(paths["ratio"], index=False)
    figure = budget_figure(summary)
    figure.write_html(paths["plot"], include_plotlyjs=True)
    try:
        figure.write_image(output / "budget.png")
        paths["png"] = output / "budget.png"
    except Exception:  # noqa: BLE001  (kaleido missing or without a browser: the HTML plot stands)
        pass
    return paths


def format_tables(summary: pd.DataFrame, ratio: pd.DataFrame) -> str:
    """The per-budget table and the ratio table, as plain text."""
    cols = ["dataset", "strategy", "budget", "labels", "accuracy", "band", *(f"{e}_{k}" for e in ESTIMATES
                                                                             for k in ("error", "coverage"))]
    table = summary[cols].assign(budget=(100 * summary["budget"]).round().astype(int).astype(str) + " %")
    return ("Per budget (means over seeds; accuracy +- band = 95 % interval of the mean; consistency errors in "
            "points, coverage = % of seeds whose 95 % interval held the full-data value):\n"
            + table.to_string(index=False, float_format=lambda v: f"{v:.2f}")
            + "\n\nLabels to come within 1 point of the full-data accuracy, as a ratio to random "
            "(ratio_low/high: 95 % bootstrap interval over seeds):\n"
            + ratio.to_string(index=False, float_format=lambda v: f"{v:.2f}"))


def run(sets=("synthetic", "paper"), seeds: int = 5, budgets=BUDGETS, temperature: float = TEMPERATURE,
        features: str = "model", model: str = "smollm2-135m", ratings=None, rankings=None, progress=None
        ) -> pd.DataFrame:
    """The sweep over each named set, concatenated."""
    frames = []
    for name in sets:
        data = load_set(name, ratings, rankings, features, model, progress)
        frames.append(simulate(data, budgets=budgets, seeds=range(seeds), temperature=temperature,
                               progress=progress))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

