"""What each dashboard tab shows, as plain functions of a feedback bundle (no Gradio, no files).

The pages are thin callers of these; the report computes the same numbers through the same analyses.
Tables come back one page at a time (``PAGE_SIZE`` rows) so a 100k-pair project stays responsive.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd

from sparse_feedback.analysis.agreement import agreement_summary, annotator_table, label_matrix, pairwise_kappas
from sparse_feedback.analysis.bias import length_bias_table, position_bias
from sparse_feedback.analysis.candidates import describe_flips, protocol_rank_flips, win_rate_by_length, win_rate_table
from sparse_feedback.analysis.crossed import BOOTSTRAP as CROSSED_BOOTSTRAP
from sparse_feedback.analysis.crossed import crossed_table, describe_inversion, inversion_pairs
from sparse_feedback.analysis.disagreement import disagreements, order_disagreements, pair_details
from sparse_feedback.analysis.leaderboard import BOOTSTRAP as LEADERBOARD_BOOTSTRAP
from sparse_feedback.analysis.leaderboard import comparisons_from_runs, describe_orderings, leaderboard, mean_ratings
from sparse_feedback.analysis.sources import (
    LLM, MAJORITY, Feedback, consistency_between, consistency_grid, group_sources, pair_key, source_rankings,
)
from sparse_feedback.report import figures
from sparse_feedback.report.tables import header, readable, with_bounds, with_interval

PAGE_SIZE = 25
SEP = " · "


def page(frame: pd.DataFrame, number: int, size: int = PAGE_SIZE) -> tuple[pd.DataFrame, str]:
    """Rows of page ``number`` (1-based, clamped) and a "page i of n (rows)" line.

    >>> rows, info = page(pd.DataFrame({"x": range(60)}), 3, 25)
    >>> len(rows), info
    (10, 'page 3 of 3 · 60 rows')
    """
    pages = max(1, math.ceil(len(frame) / size))
    number = min(max(1, int(number or 1)), pages)
    return frame.iloc[(number - 1) * size: number * size].reset_index(drop=True), \
        f"page {number} of {pages} · {len(frame)} rows"


# ---------------------------------------------------------------- consistency

def consistency_view(feedback: Feedback, rating_source: str, ranking_source: str):
    """(headline markdown, heatmap, Consistency) for one ratings source against one rankings source."""
    result, _ = consistency_between(feedback, rating_source, ranking_source)
    title = f"{rating_source} ratings vs {ranking_source} rankings"
    headline = (f"**{title}**: consistency **{result.consistency:.2f} %** over **{result.n_pairs}** pairs"
                if result.n_pairs else f"**{title}**: no pair is both ranked and rated by these sources.")
    return headline, figures.consistency_heatmap(result, title), result


def grid_view(feedback: Feedback):
    """(figure, table) of the consistency of every pairing of LLM, all humans and majority sources; the figure
    is None while there is at most one pairing with pairs (a 1x1 grid only repeats the headline)."""
    grid = consistency_grid(feedback, group_sources(feedback))
    return (figures.consistency_grid_figure(grid) if several_pairings(grid) else None), grid


def several_pairings(grid) -> bool:
    """Whether the grid compares more than one (ratings source, rankings source) pairing that has pairs."""
    return int((grid["n_pairs"] > 0).sum()) > 1 if len(grid) else False


# What stands in for the grid of every source pairing while it would be one cell.
SINGLE_PAIRING = ("Every source pairing: this project has one source so far, so there is a single pairing (its "
                  "heatmap is shown); the grid of every pairing appears once annotators or a second LLM judge "
                  "rate and rank.")


# ---------------------------------------------------------------- disagreements

def judgement_choices(feedback: Feedback) -> list[str]:
    """``"ratings · LLM"``, ``"rankings · majority of humans"``, ... for the explorer's two pickers."""
    return [f"{p}{SEP}{s}" for s in feedback.source_names() for p in ("ratings", "rankings")]


def parse_judgement(choice: str) -> tuple[str, str]:
    protocol, _, source = choice.partition(SEP)
    return protocol, source


AS_PICKED, LLM_ORDERS, RATINGS_VS_RANKINGS, HUMAN_VS_LLM = (
    "judgement A vs B", "LLM orders disagree", "ratings vs rankings", "human vs LLM")
KINDS = (AS_PICKED, LLM_ORDERS, RATINGS_VS_RANKINGS, HUMAN_VS_LLM)
ORDER_NAMES = ("first order (as shown)", "second order (swapped)")


def resolve_kind(feedback: Feedback, kind: str, a: str, b: str) -> tuple[str, str]:
    """The two judgements a kind of disagreement compares, keeping what the pickers say where it fits: ratings
    vs rankings of A's source; the majority of humans vs an LLM (B's if it is one) in A's protocol; or, for the
    LLM's two orders, that LLM's rankings (A's or B's if an LLM, else the first)."""
    (pa, sa), (_, sb) = parse_judgement(a or ""), parse_judgement(b or "")
    llms = feedback.llm_names()
    if kind == RATINGS_VS_RANKINGS:
        return f"ratings{SEP}{sa or LLM}", f"rankings{SEP}{sa or LLM}"
    if kind in (HUMAN_VS_LLM, LLM_ORDERS) and not llms:
        raise LookupError("this project has no LLM judgements yet")
    if kind == HUMAN_VS_LLM:
        if MAJORITY not in feedback.source_names():
            raise LookupError("this project has no human feedback yet: nothing to compare with the LLM")
        return f"{pa or 'rankings'}{SEP}{MAJORITY}", f"{pa or 'rankings'}{SEP}{sb if sb in llms else llms[0]}"
    if kind == LLM_ORDERS:
        llm = sa if sa in llms else sb if sb in llms else llms[0]
        return f"rankings{SEP}{llm}", f"rankings{SEP}{llm}"
    return a, b


def pair_keys(pairs: pd.DataFrame) -> np.ndarray:
    """Keys of the unordered pairs of a ranking frame (e.g. the adjudicated ones, to leave them out)."""
    return pair_key(pairs)[0] if len(pairs) else np.array([], dtype=np.uint64)


def filtered_disagreements(feedback: Feedback, a: str, b: str, search: str = "", min_score: float = 0.0,
                           kind: str = AS_PICKED, exclude=None):
    """Disagreements of two judgements (or, for ``LLM orders disagree``, of an LLM's two orders), filtered by
    text (instruction or either response), minimum size and pair keys to leave out (``exclude``)."""
    found = (order_disagreements(feedback, parse_judgement(a)[1]) if kind == LLM_ORDERS
             else disagreements(feedback, parse_judgement(a), parse_judgement(b)))
    if exclude is not None and len(exclude):
        found = found[~np.isin(found["pair"].to_numpy(), np.asarray(exclude))]
    if search:
        hay = found["instruction"] + "\n" + found["output1"] + "\n" + found["output2"]
        found = found[hay.str.contains(search, case=False, regex=False)]
    return found[found["score"] >= float(min_score or 0)].reset_index(drop=True)


def clip(text: str, n: int = 120) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def judgement_names(a: str, b: str, kind: str = AS_PICKED) -> tuple[str, str]:
    """What the two label columns are called: the judgements, or an LLM's two orders."""
    return ORDER_NAMES if kind == LLM_ORDERS else (a, b)


def disagreement_page(feedback: Feedback, a: str, b: str, search: str = "", min_score: float = 0.0,
                      number: int = 1, kind: str = AS_PICKED, exclude=None) -> tuple[pd.DataFrame, str]:
    """One page of the explorer's table (largest disagreement first) and its page line."""
    rows, info = page(filtered_disagreements(feedback, a, b, search, min_score, kind, exclude), number)
    name_a, name_b = judgement_names(a, b, kind)
    table = pd.DataFrame({"size": rows["score"].round(3), name_a: rows["label_a"], name_b: rows["label_b"],
                          "instruction": rows["instruction"].map(clip), "output1": rows["output1"].map(clip),
                          "output2": rows["output2"].map(clip)})
    return table, info


def _frame_html(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, escape=True, na_rep="–", border=0, float_format=lambda v: f"{v:g}")


def selected_pair(feedback: Feedback, a: str, b: str, search: str, min_score: float, number: int, row: int,
                  kind: str = AS_PICKED, exclude=None) -> pd.Series | None:
    """Row ``row`` of page ``number`` of the explorer (every column of :func:`disagreements`), or None."""
    rows, _ = page(filtered_disagreements(feedback, a, b, search, min_score, kind, exclude), number)
    return rows.iloc[row] if 0 <= row < len(rows) else None


def detail_html(feedback: Feedback, a: str, b: str, search: str, min_score: float, number: int, row: int,
                kind: str = AS_PICKED, exclude=None) -> str:
    """The selected pair: instruction, both responses side by side, every rating and ranking (escaped HTML)."""
    r = selected_pair(feedback, a, b, search, min_score, number, row, kind, exclude)
    if r is None:
        return "<p>Select a row.</p>"
    a, b = judgement_names(a, b, kind)
    d = pair_details(feedback, r["instruction"], r["input"], r["output1"], r["output2"])
    esc = lambda s: html.escape(str(s)).replace("\n", "<br>")  # noqa: E731
    side = "".join(f"<div style='flex:1;border:1px solid #ccc;padding:.5rem'><b>{name}</b><br>{esc(d[name])}</div>"
                   for name in ("output1", "output2"))
    return (f"<div><b>Instruction</b><br>{esc(d['instruction'])}</div>"
            + (f"<div><b>Input</b><br>{esc(d['input'])}</div>" if d["input"] else "")
            + f"<div style='display:flex;gap:1rem;margin:.5rem 0'>{side}</div>"
            + f"<p><b>{esc(a)}</b>: {r['label_a']} · <b>{esc(b)}</b>: {r['label_b']} · size {r['score']:.3f}</p>"
            + "<b>Ratings</b>" + _frame_html(d["ratings"]) + "<b>Rankings (raw judge answers as asked)</b>"
            + _frame_html(d["rankings"]))


# ---------------------------------------------------------------- agreement and bias

def agreement_view(feedback: Feedback, number: int = 1):
    """(per-protocol summary, page of annotator-pair κ, per-annotator table)."""
    kappas = pd.concat([pairwise_kappas(label_matrix(feedback, p)).assign(protocol=p)
                        for p in ("ratings", "rankings")], ignore_index=True)
    return agreement_summary(feedback), page(kappas, number)[0], annotator_table(feedback)


def bias_view(feedback: Feedback):
    """(length-bias figure, its summary table, {llm: (position figure, PositionBias)})."""
    summary, bins = length_bias_table(feedback, group_sources(feedback))
    position = {}
    for llm in feedback.llm_names():
        result = position_bias(source_rankings(feedback, llm))
        position[llm] = (figures.position_bias_figure(result), result)
    return figures.length_bias_figure(bins), summary, position


# ---------------------------------------------------------------- win-rates

def winrate_view(runs: dict[str, pd.DataFrame], number: int = 1):
    """(flag sentence, bar chart, length-controlled bar chart, win-rate table, by-length table,
    page of the per-instruction table, its page line)."""
    table = win_rate_table(runs)
    flag = describe_flips(protocol_rank_flips(table)) if len(table) else "No candidate runs."
    long = pd.concat([t.assign(candidate=name) for name, t in runs.items()], ignore_index=True) if runs \
        else pd.DataFrame()
    rows, info = page(long, number)
    return (flag, figures.winrate_figure(table), figures.winrate_figure(table, "lc_win_rate", "lc_ci95"), table,
            win_rate_by_length(runs), rows, info)


# ---------------------------------------------------------------- the crossed table and the leaderboard

def crossed_cells(table: pd.DataFrame) -> pd.DataFrame:
    """The crossed table as a person reads it: one ``win-rate ± 95 % (n=…)`` cell per run and protocol.

    >>> t = pd.DataFrame([{"row": "ratings RM", "reranked_with": "ratings RM", "ratings_win_rate": 58.3333,
    ...                    "ratings_ci95": 20.305, "ratings_n": 12, "rankings_win_rate": 54.1667,
    ...                    "rankings_ci95": 18.9136, "rankings_n": 12}])
    >>> crossed_cells(t).to_dict("records")
    [{'Run': 'ratings RM', 'Reranked with': 'ratings RM', 'Ratings evaluation': '58.3 ± 20.3 (n=12)', \
'Rankings evaluation': '54.2 ± 18.9 (n=12)'}]
    """
    out = pd.DataFrame({header("row"): table["row"], header("reranked_with"): table["reranked_with"]})
    for protocol in ("ratings", "rankings"):
        out[f"{protocol.capitalize()} evaluation"] = [
            f"{with_interval(v, c)} (n={n})" for v, c, n in
            zip(table[f"{protocol}_win_rate"], table[f"{protocol}_ci95"], table[f"{protocol}_n"])]
    return out


def pair_rows(pairs: pd.DataFrame) -> pd.DataFrame:
    """The inversion pairs readable: the difference of differences with its bootstrap interval in one cell."""
    shown = pairs.assign(dod=[with_bounds(v, lo, hi, 1) for v, lo, hi in
                              zip(pairs["dod"], pairs["dod_low"], pairs["dod_high"])],
                         inverted=pairs["inverted"].map({True: "yes", False: "no"}))
    return readable(shown, drop=("dod_low", "dod_high"), decimals=1)


def crossed_view(runs: dict[str, pd.DataFrame], n_boot: int = CROSSED_BOOTSTRAP):
    """(inversion sentence, crossed table, pair table) — readable, as the tab and the report show them."""
    pairs = inversion_pairs(runs, n_boot)
    return describe_inversion(pairs), crossed_cells(crossed_table(runs)), pair_rows(pairs)


def leaderboard_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The leaderboard readable: the Bradley–Terry score with its bootstrap interval, the mean rating ± 95 %."""
    shown = table.assign(bt_score=[with_bounds(v, lo, hi) for v, lo, hi in
                                   zip(table["bt_score"], table["bt_low"], table["bt_high"])])
    return readable(shown, intervals={"ratings_mean": "ratings_ci95"}, drop=("bt_low", "bt_high"))


def leaderboard_view(runs: dict[str, pd.DataFrame], versus=(), n_boot: int = LEADERBOARD_BOOTSTRAP):
    """(orderings sentence, both-orderings figure, readable leaderboard) of the runs against their reference."""
    table = leaderboard(comparisons_from_runs(runs, versus), mean_ratings(runs), n_boot=n_boot)
    return describe_orderings(table), figures.leaderboard_figure(table), leaderboard_rows(table)
