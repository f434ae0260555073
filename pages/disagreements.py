"""Disagreement explorer: pairs where two judgements (ratings vs rankings, or human vs LLM) disagree."""

import gradio as gr

from pages.research import feedback, on_open, pickers, researcher
from sparse_feedback.analysis.sources import LLM
from sparse_feedback.report import views
from sparse_feedback.ui import dashboards

INTRO = ("Pairs where two judgements give different preferences, the largest disagreement first "
         "(size = |grade A − grade B|: rankings +1/0/−1, ratings (rating1 − rating2) ÷ 6). "
         "Click a row to see the pair with every rating, ranking, raw judge answer and annotator.")


def table(store, project, a=None, b=None, search="", min_score=0, number=1):
    """(picker A, picker B, one page of the table — largest disagreement first —, its page line).
    Judgements not offered by the project fall back to LLM ratings vs LLM rankings."""
    bundle = feedback(store, project)
    options = views.judgement_choices(bundle)
    a = a if a in options else f"ratings{views.SEP}{LLM}"
    b = b if b in options else f"rankings{views.SEP}{LLM}"
    if a not in options or b not in options:
        a, b = (options + [None, None])[:2]
    rows, info = dashboards.disagreement_table(bundle, a, b, search or "", min_score or 0, number or 1) if a and b \
        else (None, "Nothing to compare yet.")
    return gr.update(choices=options, value=a), gr.update(choices=options, value=b), rows, info


def detail(store, project, a, b, search, min_score, number, row):
    """The pair in row ``row`` of the page: both responses side by side with every rating, ranking and raw answer."""
    try:
        row = int(row)
    except (TypeError, ValueError):
        raise LookupError("choose a row of the table first") from None
    return views.detail_html(feedback(store, project), a, b, search or "", min_score or 0, number or 1, row)


def build(store, shell=None, tab=None):
    access, name, project = pickers(shell, INTRO)
    with gr.Row():
        a = gr.Dropdown(label="Judgement A", elem_id="disagree-a")
        b = gr.Dropdown(label="Judgement B", elem_id="disagree-b")
    with gr.Row():
        search = gr.Textbox(label="Contains text", scale=2)
        min_score = gr.Number(0, label="Minimum size", minimum=0, maximum=2)
        number = gr.Number(1, label="Page", precision=0, minimum=1)
        go = gr.Button("Find", variant="primary", scale=0, elem_id="disagree-find")
    info = gr.Markdown(elem_id="disagree-info")
    # Widths that add up to the page: the two judgement columns fit their names, the three texts share the rest
    # (cut to 120 characters; the whole pair shows below on selection).
    rows = gr.Dataframe(interactive=False, wrap=True, elem_id="disagree-table",
                        column_widths=["6%", "10%", "10%", "24%", "25%", "25%"])
    pair = gr.HTML(elem_id="disagree-detail")
    inputs = [name, project, a, b, search, min_score, number]
    outputs = [a, b, rows, info]
    run = researcher(table, store, access)
    go.click(run, inputs, outputs, api_name="disagreements")
    number.submit(run, inputs, outputs, api_visibility="private")
    on_open(table, store, access, project, inputs, outputs, tab)
    show = researcher(detail, store, access)

    def on_select(name, project, a, b, search, min_score, number, evt: gr.EventData, request: gr.Request):
        # gr.EventData, not gr.SelectData: Gradio builds SelectData before the handler runs and fails on a call
        # without event data. Here the access check runs first and a missing row is refused by detail().
        data = getattr(evt, "_data", None)
        index = data.get("index") if isinstance(data, dict) else None
        row = index[0] if isinstance(index, (list, tuple)) and index else None
        return show(name, project, a, b, search, min_score, number, row, request)

    rows.select(on_select, inputs, pair, api_visibility="private")
    return run, outputs
