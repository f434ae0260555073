"""Win-rates tab: each candidate run against the reference under both protocols, with 95 % intervals."""

import gradio as gr

from pages.research import on_open, pickers, researcher
from sparse_feedback.errors import InputError
from sparse_feedback.report import views
from sparse_feedback.report.inputs import evaluated_runs, load_evaluated_runs, load_runs
from sparse_feedback.settings import home
from sparse_feedback.ui import dashboards
from sparse_feedback.ui.best_of_n import run_label

INTRO = ("Pick runs evaluated by `evaluate` or the pipeline under the data home (e.g. best-of-n outputs), "
         "and/or upload the reference's ratings, each candidate run's ratings and the pairwise feedback "
         "(output1 = reference, output2 = candidate). Length-controlled: a logistic fit of the score "
         "on the length gap, read at equal length. A run's row in the crossed table is the RM in its name "
         "(a best-of-n job names each run by its RM; name an upload e.g. `rankings RM.csv`).")


def _paths(files) -> list[str]:
    return [getattr(f, "name", f) for f in (files or [])]


def show(store, project, reference, candidates, feedback_files, number=1, evaluated=None):
    """(flag, bars, length-controlled bars, win-rates, by length gap, per-instruction page, page line, inversion
    sentence, crossed table, inversion pairs, orderings sentence, leaderboard plot, leaderboard).

    Runs are matched by file name order: the i-th feedback file belongs to the i-th candidate ratings file.
    """
    ref = _paths([reference])[0] if reference else None
    runs = load_runs(ref, _paths(candidates), _paths(feedback_files))
    runs.update(load_evaluated_runs(home(), list(evaluated or [])))
    if not runs:
        raise InputError("win-rates", "pick an evaluated run or upload candidate files")
    labels = {run: run_label(home(), run).split(" — ")[0].removeprefix("best-of-n ") for run in evaluated or []}
    named = {labels.get(k, k): v for k, v in runs.items()}
    flag, bars, lc_bars, table, by_length, rows, info = views.winrate_view(named, number or 1)
    inversion, crossed, pairs = views.crossed_view(named)
    orderings, board_plot, board = views.leaderboard_view(named)
    return (f"**{flag}**", bars, lc_bars, *dashboards.winrate_tables(table, by_length, rows), info,
            f"**{inversion}**", crossed, pairs, orderings, board_plot, board)


def run_choices() -> list[tuple[str, str]]:
    """Evaluated runs under the data home as (label, path): a best-of-n job's by its job and RM."""
    return [(run_label(home(), run), run) for run in evaluated_runs(home())]


def _choices(store, project):
    return gr.update(choices=run_choices())


def default(store, project):
    """On open: every evaluated run under the data home, picked and compared (a line saying how to get one
    when there is none yet)."""
    found = run_choices()
    if not found:
        return (gr.update(choices=[], value=[]), "No evaluated run under the data home yet: run a Best-of-n job "
                "with a judge, or `sparse-feedback evaluate`, or upload files above.", *[gr.update()] * 12)
    runs = [run for _, run in found]
    return (gr.update(choices=found, value=runs), *show(store, project, None, [], [], 1, runs))


def build(store, shell=None, tab=None):
    access, name, project = pickers(shell, INTRO)
    with gr.Row():
        evaluated = gr.Dropdown([], multiselect=True, label="Evaluated runs (under the data home)", scale=8)
        refresh = gr.Button("Refresh", scale=0)
    with gr.Row():
        reference = gr.File(label="Reference ratings", file_count="single", height=120)
        candidates = gr.File(label="Candidate ratings (one file per run)", file_count="multiple", height=120)
        feedback_files = gr.File(label="Pairwise feedback (one file per run)", file_count="multiple", height=120)
    with gr.Row():
        number = gr.Number(1, label="Page", precision=0, minimum=1)
        go = gr.Button("Compare", variant="primary", scale=0)
    flag = gr.Markdown(elem_id="winrate-flag")
    with gr.Row():
        bars = gr.Plot(label="Win-rate", elem_id="winrate-bars")
        lc_bars = gr.Plot(label="Length-controlled win-rate", elem_id="winrate-lc-bars")
    gr.Markdown("### Crossed table: the RM each run was reranked with, by evaluation protocol")
    inversion = gr.Markdown(elem_id="crossed-flag")
    crossed = gr.Dataframe(label="Win-rate vs the reference (± 95 % interval, n) per evaluation protocol",
                           interactive=False, wrap=True, elem_id="crossed-table")
    pairs = gr.Dataframe(label="Each pair of rows: difference of differences (rankings gap − ratings gap, points) "
                               "with its paired-bootstrap 95 % interval over instructions",
                         interactive=False, wrap=True, elem_id="crossed-pairs")
    gr.Markdown("### Leaderboard across policies")
    orderings = gr.Markdown(elem_id="leaderboard-flag")
    board = gr.Dataframe(label="Bradley–Terry score (ties half a win; reference = 0; bootstrap 95 %) and the "
                               "mean rating (± 95 %)", interactive=False, wrap=True, elem_id="leaderboard-table")
    board_plot = gr.Plot(label="Both orderings", elem_id="leaderboard-plot")
    table = gr.Dataframe(label="Win-rates (± 95 % interval)", interactive=False, wrap=True)
    by_length = gr.Dataframe(label="Win-rate by length gap", interactive=False)
    info = gr.Markdown()
    # The texts wrap inside their column; a long one is cut to 160 characters (a click shows the cell in full).
    rows = gr.Dataframe(label="Per instruction", interactive=False, wrap=True, max_chars=160,
                        column_widths=["20%", "10%", "8%", "8%", "7%", "7%", "7%", "7%", "26%"],
                        elem_id="winrate-rows")
    outputs = [flag, bars, lc_bars, table, by_length, rows, info, inversion, crossed, pairs, orderings, board_plot,
               board]
    run = researcher(show, store, access)
    go.click(run, [name, project, reference, candidates, feedback_files, number, evaluated], outputs,
             api_name="winrates")
    runs = researcher(_choices, store, access)
    refresh.click(runs, [name, project], evaluated, api_name="winrate_runs")
    if tab is not None:  # a job evaluated since the last visit is offered at once (the comparison shown stays)
        tab.select(researcher(_choices, store, access, quiet=1), [name, project], evaluated, api_visibility="private")
    on_open(default, store, access, project, [name, project], [evaluated, *outputs])
    return run, outputs
