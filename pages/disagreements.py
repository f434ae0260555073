"""Disagreement explorer: pairs where two judgements (ratings vs rankings, or human vs LLM) disagree."""

import gradio as gr

from pages.research import feedback, pickers, researcher
from sparse_feedback.analysis.sources import LLM
from sparse_feedback.report import views


def choices(store, project):
    """The judgements to compare; LLM ratings vs LLM rankings by default."""
    options = views.judgement_choices(feedback(store, project))
    a, b = f"ratings{views.SEP}{LLM}", f"rankings{views.SEP}{LLM}"
    return (gr.update(choices=options, value=a if a in options else None),
            gr.update(choices=options, value=b if b in options else None))


def table(store, project, a, b, search, min_score, number):
    """(one page of the table, largest disagreement first; its page line)."""
    if not a or not b:
        raise LookupError("pick the two judgements to compare")
    return views.disagreement_page(feedback(store, project), a, b, search or "", min_score or 0, number or 1)


def detail(store, project, a, b, search, min_score, number, row):
    """The selected row's pair: both responses side by side with every rating, ranking and raw answer."""
    return views.detail_html(feedback(store, project), a, b, search or "", min_score or 0, number or 1, int(row))


def build(store, shell=None):
    access, name, project = pickers(shell)
    gr.Markdown("Pairs where two judgements give different preferences, the largest disagreement first "
                "(size = |grade a − grade b|, rankings ±1/0, rating gap ÷ 6). Click a row to see the pair.")
    with gr.Row():
        a = gr.Dropdown(label="Judgement A", elem_id="disagree-a")
        b = gr.Dropdown(label="Judgement B", elem_id="disagree-b")
    with gr.Row():
        search = gr.Textbox(label="Contains text", scale=2)
        min_score = gr.Number(0, label="Minimum size", minimum=0, maximum=2)
        number = gr.Number(1, label="Page", precision=0, minimum=1)
        go = gr.Button("Find", variant="primary", scale=0)
    info = gr.Markdown(elem_id="disagree-info")
    rows = gr.Dataframe(interactive=False, wrap=True, elem_id="disagree-table")
    pair = gr.HTML(elem_id="disagree-detail")
    inputs = [name, project, a, b, search, min_score, number]
    project.change(researcher(choices, store, access, quiet=2), [name, project], [a, b],
                   api_name="disagreement_choices")
    run = researcher(table, store, access)
    go.click(run, inputs, [rows, info], api_name="disagreements")
    number.submit(run, inputs, [rows, info], api_visibility="private")
    show = researcher(detail, store, access)

    def on_select(*values, evt: gr.SelectData):
        return show(*values, evt.index[0])

    rows.select(on_select, inputs, pair, api_visibility="private")
    return run, [rows, info]
