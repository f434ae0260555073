"""Disagreement explorer: pairs where two judgements (ratings vs rankings, or human vs LLM) disagree, and their
adjudication by a researcher or an admin."""

import gradio as gr

from pages import admin_only, bind, guarded
from pages.research import feedback, on_open, pickers, researcher
from sparse_feedback.analysis.sources import LLM
from sparse_feedback.report import views
from sparse_feedback.ui import adjudication, dashboards

INTRO = ("Pairs where two judgements give different preferences, the largest disagreement first "
         "(size = |grade A − grade B|: rankings +1/0/−1, ratings (rating1 − rating2) ÷ 6). "
         "Click a row to see the pair with every rating, ranking, raw judge answer and annotator; researchers and "
         "admins can then adjudicate it: accept one judgement's label or enter one, with a reason. A decision is "
         "stored as the source *adjudicated* (exportable, a training source), never as a change to anyone's answer.")


def _exclude(store, project, unadjudicated):
    return adjudication.adjudicated_keys(store, project) if unadjudicated else None


def table(store, project, a=None, b=None, search="", min_score=0, number=1, kind=views.AS_PICKED,
          unadjudicated=False):
    """(picker A, picker B, one page of the table — largest disagreement first —, its page line).
    Judgements not offered by the project fall back to LLM ratings vs LLM rankings; a kind other than
    ``judgement A vs B`` sets both pickers."""
    bundle = feedback(store, project)
    options = views.judgement_choices(bundle)
    a = a if a in options else f"ratings{views.SEP}{LLM}"
    b = b if b in options else f"rankings{views.SEP}{LLM}"
    if a not in options or b not in options:
        a, b = (options + [None, None])[:2]
    kind = kind if kind in views.KINDS else views.AS_PICKED
    if a and b:
        a, b = views.resolve_kind(bundle, kind, a, b)
        rows, info = dashboards.disagreement_table(bundle, a, b, search or "", min_score or 0, number or 1, kind,
                                                   _exclude(store, project, unadjudicated))
    else:
        rows, info = None, "Nothing to compare yet."
    return gr.update(choices=options, value=a), gr.update(choices=options, value=b), rows, info


def _row(row):
    try:
        return int(row)
    except (TypeError, ValueError):
        raise LookupError("choose a row of the table first") from None


def detail(store, project, a, b, search, min_score, number, row, kind=views.AS_PICKED, unadjudicated=False):
    """The pair in row ``row`` of the page: both responses side by side with every rating, ranking and raw answer."""
    bundle, exclude = feedback(store, project), _exclude(store, project, unadjudicated)
    pair = views.selected_pair(bundle, a, b, search or "", min_score or 0, number or 1, _row(row), kind, exclude)
    return (adjudication.decision_html(store, project, pair)
            + views.detail_html(bundle, a, b, search or "", min_score or 0, number or 1, _row(row), kind, exclude))


def adjudicate(store, project, adjudicator, a, b, search, min_score, number, row, kind, unadjudicated, decision,
               label, reason):
    """Store the decision on the selected pair; (message, the table's page again, no row selected, the detail)."""
    pair = views.selected_pair(feedback(store, project), a, b, search or "", min_score or 0, number or 1,
                               _row(row), kind, _exclude(store, project, unadjudicated))
    message = adjudication.decide(store, project, adjudicator, pair, a, b, kind, decision, label, reason)
    page = table(store, project, a, b, search, min_score, number, kind, unadjudicated)[2]
    return message, page, None, "<p>Select the next row.</p>"


@guarded
def may_adjudicate(access, name, request: gr.Request):
    """After sign-in: the adjudication form for researchers and admins (in open local mode, for everyone); a no-op
    for others (the form starts hidden)."""
    shown = (access.open and access.local) or access.identify(request, name).can("adjudicate")
    return gr.update(visible=True) if shown else gr.update()


@guarded(also=(LookupError,))
def decide_as(store, access, name, project, a, b, search, min_score, number, kind, unadjudicated, row, decision,
              label, reason, request: gr.Request = None):
    """The Adjudicate button: only a researcher (on the projects they are given) or an admin; the decision is
    recorded under the caller's own name from the sign-in, never a typed one."""
    who = access.require(request, name, "adjudicate", project) if access is not None else None
    return adjudicate(store, project, who.name if who else name, a, b, search, min_score, number, row, kind,
                      unadjudicated, decision, label, reason)


def build(store, shell=None, tab=None):
    access, name, project = pickers(shell, INTRO)
    with gr.Row():
        kind = gr.Dropdown(list(views.KINDS), value=views.AS_PICKED, label="Kind of disagreement",
                           elem_id="disagree-kind")
        # Custom values: an API caller names the judgements itself (the handlers check them against the project's).
        a = gr.Dropdown(label="Judgement A", elem_id="disagree-a", allow_custom_value=True)
        b = gr.Dropdown(label="Judgement B", elem_id="disagree-b", allow_custom_value=True)
    with gr.Row():
        search = gr.Textbox(label="Contains text", scale=2)
        min_score = gr.Number(0, label="Minimum size", minimum=0, maximum=2)
        number = gr.Number(1, label="Page", precision=0, minimum=1)
        unadjudicated = gr.Checkbox(False, label="Unadjudicated only", elem_id="disagree-unadjudicated")
        go = gr.Button("Find", variant="primary", scale=0, elem_id="disagree-find")
    info = gr.Markdown(elem_id="disagree-info")
    # Widths that add up to the page: the two judgement columns fit their names, the three texts share the rest
    # (cut to 120 characters; the whole pair shows below on selection).
    rows = gr.Dataframe(interactive=False, wrap=True, elem_id="disagree-table",
                        column_widths=["6%", "10%", "10%", "24%", "25%", "25%"])
    pair = gr.HTML(elem_id="disagree-detail")
    selected = gr.Number(None, visible=False)
    with gr.Group(visible=shell is None, elem_id="disagree-adjudication") as form:
        gr.Markdown("**Adjudicate the selected pair**")
        with gr.Row():
            decision = gr.Radio(list(adjudication.DECISIONS), value=adjudication.ACCEPT_A, label="Decision")
            label = gr.Radio(list(adjudication.LABEL_CHOICES), label="Label to enter")
            reason = gr.Textbox(label="Reason", lines=2, scale=2)
            decide = gr.Button("Adjudicate", scale=0, elem_id="disagree-adjudicate")
        decided = gr.Markdown(elem_id="disagree-decided")
    inputs = [name, project, a, b, search, min_score, number, kind, unadjudicated]
    outputs = [a, b, rows, info]
    run = researcher(table, store, access)
    go.click(run, inputs, outputs, api_name="disagreements")
    number.submit(run, inputs, outputs, api_visibility="private")
    kind.change(run, inputs, outputs, api_visibility="private")
    unadjudicated.change(run, inputs, outputs, api_visibility="private")
    on_open(table, store, access, project, inputs, outputs, tab)
    show = researcher(detail, store, access)

    def on_select(name, project, a, b, search, min_score, number, kind, unadjudicated, evt: gr.EventData,
                  request: gr.Request):
        # gr.EventData, not gr.SelectData: Gradio builds SelectData before the handler runs and fails on a call
        # without event data. Here the access check runs first and a missing row is refused by detail().
        data = getattr(evt, "_data", None)
        index = data.get("index") if isinstance(data, dict) else None
        row = index[0] if isinstance(index, (list, tuple)) and index else None
        return show(name, project, a, b, search, min_score, number, row, kind, unadjudicated, request), row

    rows.select(on_select, inputs, [pair, selected], api_visibility="private")

    if shell is not None:
        shell.after_sign_in.append(("adjudication_form", admin_only(bind(may_adjudicate, access), 1), [shell.name],
                                    [form]))
    decide.click(bind(decide_as, store, access), [*inputs, selected, decision, label, reason],
                 [decided, rows, selected, pair], api_name="adjudicate")
    return run, outputs
