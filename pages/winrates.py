"""Win-rates tab: each candidate run against the reference under both protocols, with 95 % intervals."""

import gradio as gr

from pages.research import pickers, researcher
from sparse_feedback.report import views
from sparse_feedback.errors import InputError
from sparse_feedback.report.inputs import evaluated_runs, load_evaluated_runs, load_runs
from sparse_feedback.settings import home
from sparse_feedback.ui.best_of_n import run_label


INTRO = ("Pick runs evaluated by `evaluate` or the pipeline under the data home (e.g. best-of-n outputs), "
         "and/or upload the reference's ratings, each candidate run's ratings and the pairwise feedback "
         "(output1 = reference, output2 = candidate). Length-controlled: a logistic fit of the score "
         "on the length gap, read at equal length.")


def _paths(files) -> list[str]:
    return [getattr(f, "name", f) for f in (files or [])]


def show(store, project, reference, candidates, feedback_files, number=1, evaluated=None):
    """(flag, bars, length-controlled bars, win-rates, by length gap, per-instruction page, page line).

    Runs are matched by file name order: the i-th feedback file belongs to the i-th candidate ratings file.
    """
    ref = _paths([reference])[0] if reference else None
    runs = load_runs(ref, _paths(candidates), _paths(feedback_files))
    runs.update(load_evaluated_runs(home(), list(evaluated or [])))
    if not runs:
        raise InputError("win-rates", "pick an evaluated run or upload candidate files")
    flag, bars, lc_bars, table, by_length, rows, info = views.winrate_view(runs, number or 1)
    return f"**{flag}**", bars, lc_bars, table, by_length, rows, info


def run_choices() -> list[tuple[str, str]]:
    """Evaluated runs under the data home as (label, path): a best-of-n job's by its job and RM."""
    return [(run_label(home(), run), run) for run in evaluated_runs(home())]


def _choices(store, project):
    return gr.update(choices=run_choices())


def build(store, shell=None):
    access, name, project = pickers(shell, INTRO)
    with gr.Row():
        evaluated = gr.Dropdown([], multiselect=True, label="Evaluated runs (under the data home)")
        refresh = gr.Button("Refresh", scale=0)
    with gr.Row():
        reference = gr.File(label="Reference ratings", file_count="single")
        candidates = gr.File(label="Candidate ratings (one file per run)", file_count="multiple")
        feedback_files = gr.File(label="Pairwise feedback (one file per run)", file_count="multiple")
    with gr.Row():
        number = gr.Number(1, label="Page", precision=0, minimum=1)
        go = gr.Button("Compare", variant="primary", scale=0)
    flag = gr.Markdown(elem_id="winrate-flag")
    bars, lc_bars = gr.Plot(label="Win-rate"), gr.Plot(label="Length-controlled win-rate")
    table = gr.Dataframe(label="Win-rates", interactive=False)
    by_length = gr.Dataframe(label="Win-rate by length gap", interactive=False)
    info = gr.Markdown()
    rows = gr.Dataframe(label="Per instruction", interactive=False, wrap=True)
    outputs = [flag, bars, lc_bars, table, by_length, rows, info]
    run = researcher(show, store, access)
    go.click(run, [name, project, reference, candidates, feedback_files, number, evaluated], outputs,
             api_name="winrates")
    refresh.click(researcher(_choices, store, access), [name, project], evaluated, api_name="winrate_runs")
    if shell is not None:  # filled for researchers after sign-in: run names never reach a stranger's page
        local = access.open and access.local  # nobody signs in on a trusted machine
        fill = researcher(_choices, store, None if local else access, quiet=1)
        shell.after_sign_in.append((fill, [name, project], evaluated))
    return run, outputs
