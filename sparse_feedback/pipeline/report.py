"""``report.html`` for a pipeline run: the run's headline numbers (consistency, RM metrics, both win-rates of
both RMs), followed by the dashboards' full report (``sparse_feedback.report``) of the run's feedback and
evaluations. One self-contained file either way."""

from __future__ import annotations

import html
from pathlib import Path

from sparse_feedback.formats import atomic_path


def _winrate_cell(w: dict) -> str:
    return f"{w['win_rate']:.1f} ± {w['ci95']:.1f} % <small>(n={w['n']}: {w['wins']}/{w['ties']}/{w['losses']})</small>"


def _metrics(metrics: dict) -> str:
    shown = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return ", ".join(f"{html.escape(k)} {v:.4g}" for k, v in shown.items()) or "—"


def render_report(results: dict) -> str:
    """The summary page as a string; every number comes from ``results`` (the run's ``results.json``)."""
    cons = results["consistency"]
    rows = "".join(
        f"<tr><th>{html.escape(rm.replace('_rm', ''))} RM</th><td>{_winrate_cell(w['ratings'])}</td>"
        f"<td>{_winrate_cell(w['rankings'])}</td><td>{_metrics(results['reward_models'].get(rm[:-3], {}))}</td></tr>"
        for rm, w in results["win_rates"].items())
    confusion = cons.get("confusion", {})
    labels = list(confusion)
    conf_rows = "".join(f"<tr><th>{html.escape(i)}</th>" + "".join(f"<td>{confusion[i][f]}</td>" for f in labels)
                        + "</tr>" for i in labels)
    timings = ", ".join(f"{html.escape(k)} {v} s" for k, v in results.get("timings_s", {}).items())
    models = results.get("models", {})
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sparse-feedback run</title>
<style>body{{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}}
table{{border-collapse:collapse;margin:1rem 0}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}}
.big{{font-size:2rem;font-weight:600}}small{{color:#666}}</style></head><body>
<h1>Ratings vs rankings: one run</h1>
<p>Policy <b>{html.escape(str(models.get('policy', '')))}</b>, judge <b>{html.escape(str(models.get('judge', '')))}</b>,
reward-model backbone <b>{html.escape(str(models.get('reward', '')))}</b>; best-of-{results.get('best_of_n', '?')}
against the reference <b>{html.escape(str(results.get('reference', '')))}</b>.</p>
<h2>Consistency of the two protocols</h2>
<p><span class="big">{cons['percent']:.1f} %</span> of {cons['pairs']} ranked pairs agree with the preference the
ratings imply.</p>
<table><tr><th>implied \\ ranked</th>{''.join(f'<th>{html.escape(f)}</th>' for f in labels)}</tr>{conf_rows}</table>
<h2>Win-rates against the reference</h2>
<table><tr><th>best-of-n by</th><th>ratings protocol</th><th>rankings protocol</th><th>RM eval metrics</th></tr>
{rows}</table>
<p><small>Win-rate: candidate better = 1, tie = 0.5, worse = 0; mean ± 1.96 standard errors. Counts are
wins/ties/losses. Stage times: {timings or '—'}.</small></p>
</body></html>
"""


def _dashboards_report(run_dir: Path) -> str:
    """The dashboards' report of the run: feedback analyses, and both RMs' evaluations as candidate runs."""
    from sparse_feedback.analysis.candidates import per_instruction
    from sparse_feedback.formats import read_ranking_feedback, read_rating_feedback
    from sparse_feedback.report.build import build_report
    from sparse_feedback.report.html import render_html
    from sparse_feedback.report.inputs import load_feedback

    feedback = load_feedback([(str(run_dir / "feedback_ratings.csv"), str(run_dir / "feedback_rankings.csv"))])
    runs = {}
    for protocol in ("ratings", "rankings"):
        ev = run_dir / f"eval_{protocol}_rm"
        runs[f"best-of-n by the {protocol} RM"] = per_instruction(
            read_rating_feedback(ev / "feedback_ratings_reference.csv"),
            read_rating_feedback(ev / "feedback_ratings_candidate.csv"),
            read_ranking_feedback(ev / "feedback_rankings.csv"))
    return render_html(build_report(feedback, runs), "Ratings vs rankings: one run")


def write_report(results: dict, path, run_dir=None) -> Path:
    """The summary page; with ``run_dir``, the dashboards' report follows it in the same file."""
    page = render_report(results)
    if run_dir is not None:
        full = _dashboards_report(Path(run_dir))
        summary = page[page.index("<body>") + len("<body>"):page.index("</body>")]
        head_end = full.index("<body>") + len("<body>")
        page = full[:head_end] + f"<section class='run-summary'>{summary}</section>" + full[head_end:]
    with atomic_path(path) as tmp:
        tmp.write_text(page, "utf-8")
    return Path(path)
