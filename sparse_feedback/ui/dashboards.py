"""What the dashboard tabs show, ready for the page: the report's views with every table made readable
(:func:`~sparse_feedback.report.tables.readable`). Plain functions of a feedback bundle; the pages only lay them out."""

from __future__ import annotations

import pandas as pd

from sparse_feedback.analysis.agreement import PROTOCOLS, agreement_sources, source_agreement
from sparse_feedback.analysis.sources import LLM, Feedback
from sparse_feedback.report import figures, views
from sparse_feedback.report.tables import header, readable, turned
from sparse_feedback.ui.coverage import plural

TEXT_CHARS = 160  # longer texts are cut in a table cell; the full text shows on selection


def pick_source(choice: str | None, names: list[str]) -> str | None:
    """``choice`` when the project offers it, else the LLM, else the first source.

    >>> pick_source("x", ["LLM", "all humans"]), pick_source("all humans", ["LLM", "all humans"])
    ('LLM', 'all humans')
    """
    return choice if choice in names else (LLM if LLM in names else (names[0] if names else None))


def consistency(feedback: Feedback, rating_source: str | None, ranking_source: str | None):
    """(sources, ratings source, rankings source, headline, heatmap, grid figure, grid table); with a single
    pairing the grid figure is None, its table empty and the headline says why."""
    names = feedback.source_names()
    rating_source, ranking_source = pick_source(rating_source, names), pick_source(ranking_source, names)
    if not names:  # a new project: nothing to compare until someone rates and ranks
        return (names, None, None, "No ratings or rankings in this project yet: annotate, or run the LLM judge.",
                None, None, readable(pd.DataFrame()))
    headline, heatmap, _ = views.consistency_view(feedback, rating_source, ranking_source)
    grid_figure, grid = views.grid_view(feedback)
    if grid_figure is None:  # one cell would only repeat the headline: a sentence instead of the grid and table
        return (names, rating_source, ranking_source, f"{headline}\n\n{views.SINGLE_PAIRING}", heatmap,
                None, readable(pd.DataFrame()))
    return names, rating_source, ranking_source, headline, heatmap, grid_figure, readable(grid)


def agreement(feedback: Feedback, number: int = 1):
    """(note, per-protocol summary, κ/α heatmap between sources, page of annotator pairs, per-annotator table).
    With fewer than two sources there is nothing to compare: the heatmap is None and the note says why."""
    summary, pairs, annotators = views.agreement_view(feedback, number or 1)
    summary = turned(readable(summary), header("protocol"))  # measures down, protocols across: fits beside the plot
    if len(agreement_sources(feedback)) < 2:
        note = ("Agreement needs two sources: this project has one LLM judge and no human annotations yet. "
                "The table shows what its humans will be measured by.")
        return note, summary, None, readable(pairs), readable(annotators)
    between = pd.concat([source_agreement(feedback, p) for p in PROTOCOLS], ignore_index=True)
    note = f"{plural(len(feedback.annotators()), 'annotator')}, {plural(len(feedback.llm_names()), 'LLM judge')}."
    return note, summary, figures.agreement_heatmap(between), readable(pairs), readable(annotators)


def bias(feedback: Feedback):
    """(length-bias figure, its table, position-bias figure of the first LLM, position-bias table per LLM)."""
    length_figure, summary, position = views.bias_view(feedback)
    rows = pd.DataFrame([{"judge": llm, **{k: v for k, v in result.to_dict().items() if k != "counts"}}
                         for llm, (_, result) in position.items()])
    first = next(iter(position.values()), (None, None))[0]
    return length_figure, readable(summary), first, readable(rows)


def disagreement_table(feedback: Feedback, a: str, b: str, search: str = "", min_score: float = 0.0,
                       number: int = 1, kind: str = views.AS_PICKED, exclude=None) -> tuple[pd.DataFrame, str]:
    """One page of the explorer (largest disagreement first), readable, and its page line."""
    rows, info = views.disagreement_page(feedback, a, b, search, min_score, number, kind, exclude)
    names = views.judgement_names(a, b, kind)
    return readable(rows, headers=dict(zip(names, names)), decimals=2), info


def winrate_tables(table: pd.DataFrame, by_length: pd.DataFrame, rows: pd.DataFrame):
    """The win-rate tables readable: ``±`` intervals, long texts cut (the cell shows them whole on a click)."""
    rows = rows.copy()
    for column in ("instruction", "input"):
        if column in rows:
            rows[column] = rows[column].map(lambda t: views.clip(str(t), TEXT_CHARS))
    return (readable(table, intervals={"win_rate": "ci95", "lc_win_rate": "lc_ci95"}), readable(by_length),
            readable(rows))
