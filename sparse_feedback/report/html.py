"""One self-contained HTML file: plotly.js inlined once, every figure and table, no network needed."""

from __future__ import annotations

import html
from datetime import datetime, timezone

import pandas as pd
import plotly.io as pio
from plotly.offline import get_plotlyjs

from sparse_feedback.analysis.candidates import describe_flips
from sparse_feedback.analysis.crossed import describe_inversion
from sparse_feedback.analysis.leaderboard import describe_orderings
from sparse_feedback.report import figures
from sparse_feedback.report.build import Report
from sparse_feedback.report.tables import readable
from sparse_feedback.report.views import (
    SINGLE_PAIRING, clip, crossed_cells, leaderboard_rows, pair_rows, several_pairings,
)

TABLE_ROWS = 50  # rows of a long table shown in the report; the count says how many there are

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem} h2{border-bottom:1px solid #ddd;padding-bottom:.3rem;margin-top:2.5rem}
table{border-collapse:collapse;font-size:.85rem;margin:.8rem 0} td,th{border:1px solid #ddd;padding:3px 6px}
th{background:#f4f4f4} td{max-width:28rem;overflow-wrap:anywhere;vertical-align:top}
.flag{background:#fff3cd;border:1px solid #e0c060;padding:.6rem 1rem;border-radius:4px}
.note{color:#666;font-size:.85rem}
.scroll{overflow-x:auto}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:.5rem}
"""


def _figure(fig) -> str:
    return pio.to_html(fig, full_html=False, include_plotlyjs=False, config={"displaylogo": False})


def _table(frame: pd.DataFrame, caption: str = "", rows: int = TABLE_ROWS) -> str:
    if frame is None or not len(frame):
        return f"<p class='note'>{html.escape(caption)}: nothing to show.</p>" if caption else ""
    shown = frame.head(rows)
    note = f" (first {rows} of {len(frame)})" if len(frame) > rows else ""
    body = readable(shown).to_html(index=False, escape=True, border=0)  # the dashboards' headers and numbers
    head = f"<p><b>{html.escape(caption)}</b>{note}</p>" if caption else ""
    return f"{head}<div class='scroll'>{body}</div>"


def _disagreement_rows(frame: pd.DataFrame) -> pd.DataFrame:
    cols = ["score", "label_a", "label_b", "instruction", "output1", "output2"]
    out = frame[cols].copy()
    for col in ("instruction", "output1", "output2"):
        out[col] = out[col].astype(str).map(clip)
    return out


def sections(report: Report) -> list[tuple[str, list[str]]]:
    """(title, html parts) of each report section, in order."""
    out = []
    parts = ([_figure(figures.consistency_grid_figure(report.grid))] if several_pairings(report.grid)
             else [f"<p class='note'>{html.escape(SINGLE_PAIRING)}</p>"] if len(report.consistency) else [])
    heatmaps = "".join(_figure(figures.consistency_heatmap(c, f"{r} ratings vs {k} rankings"))
                       for (r, k), c in report.consistency.items())
    parts.append(f"<div class='grid'>{heatmaps}</div>")
    out.append(("Consistency of ratings and rankings", parts + [_table(report.grid, "All source pairings")]))
    parts = [f"<p>{len(v)} pairs disagree. Size = |grade difference| (rankings ±1/0, rating gap / 6).</p>"
             + _table(_disagreement_rows(v), k, rows=20) for k, v in report.disagreements.items()]
    out.append(("Disagreements", parts))
    if len(report.agreement):
        out.append(("Agreement", [_table(report.agreement, "Inter-annotator and human-vs-LLM agreement"),
                                  _table(report.annotators, "Per annotator")]))
    parts = [_figure(figures.length_bias_figure(report.length_bins)),
             _table(report.length_summary, "Length bias per protocol and source")]
    for llm, result in report.position.items():
        if not result.pairs:
            parts.append(f"<p class='note'>Position bias of {html.escape(llm)}: no pair has both orders' answers.</p>")
            continue
        parts += [_figure(figures.position_bias_figure(result)),
                  _table(pd.DataFrame([{k: v for k, v in result.to_dict().items() if k != "counts"}]),
                         f"Position bias of {llm}")]
    out.append(("Bias", parts))
    if len(report.win_rates):
        flag = f"<p class='flag'>{html.escape(describe_flips(report.flips))}</p>"
        parts = [flag, _figure(figures.winrate_figure(report.win_rates)),
                 _figure(figures.winrate_figure(report.win_rates, "lc_win_rate", "lc_ci95")),
                 _table(report.win_rates, "Win-rates (lc = length-controlled: logistic fit at equal length)"),
                 _table(report.by_length, "Win-rate by length gap (candidate − reference words)")]
        parts += [_table(t, f"Per instruction: {name}") for name, t in report.runs.items()]
        out.append(("Win-rates", parts))
        out.append(("Crossed table and leaderboard", crossing_parts(report)))
    return out


def crossing_parts(report: Report) -> list[str]:
    """The crossed table with its inversion flag, then the leaderboard with both orderings."""
    def frame(table: pd.DataFrame, caption: str) -> str:
        body = table.to_html(index=False, escape=True, border=0)
        return f"<p><b>{html.escape(caption)}</b></p><div class='scroll'>{body}</div>"

    return [f"<p class='flag'>{html.escape(describe_inversion(report.inversions))}</p>",
            frame(crossed_cells(report.crossed), "Win-rate vs the reference (± 95 %, n): rows = the RM a run was "
                                                 "reranked with, columns = evaluation protocol"),
            frame(pair_rows(report.inversions), "Difference of differences (points) per pair of rows, paired "
                                                "bootstrap 95 % interval over instructions"),
            f"<p class='flag'>{html.escape(describe_orderings(report.leaderboard))}</p>",
            _figure(figures.leaderboard_figure(report.leaderboard)),
            frame(leaderboard_rows(report.leaderboard), "Leaderboard: Bradley–Terry (ties half a win, reference = 0, "
                                                        "bootstrap 95 %) beside the mean rating")]


def render_html(report: Report, title: str = "sparse-feedback report") -> str:
    """The whole report as one HTML document."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = "".join(f"<section><h2>{html.escape(t)}</h2>{''.join(p)}</section>" for t, p in sections(report))
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style><script>{get_plotlyjs()}</script></head><body>"
            f"<h1>{html.escape(title)}</h1><p class='note'>Written {stamp} by sparse-feedback.</p>"
            f"{body}</body></html>")
