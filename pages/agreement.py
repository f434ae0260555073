"""Agreement tab: inter-annotator κ/α per protocol, human vs LLM, and a per-annotator table."""

import gradio as gr

from pages.research import feedback, pickers, researcher
from sparse_feedback.report import views

INTRO = ("Cohen's κ per annotator pair, Fleiss' κ, Krippendorff's α (ordinal for ratings, nominal for "
         "rankings); human vs LLM pairs every human answer with the LLM's on the same item.")


def show(store, project, number=1):
    """(per-protocol summary, one page of annotator-pair κ, per-annotator table)."""
    return views.agreement_view(feedback(store, project), number or 1)


def build(store, shell=None):
    access, name, project = pickers(shell, INTRO)
    with gr.Row():
        number = gr.Number(1, label="Page of annotator pairs", precision=0, minimum=1)
        go = gr.Button("Show", variant="primary", scale=0)
    summary = gr.Dataframe(label="Per protocol", interactive=False, elem_id="agreement-summary")
    pairs = gr.Dataframe(label="Annotator pairs (Cohen's κ)", interactive=False)
    annotators = gr.Dataframe(label="Per annotator", interactive=False)
    outputs = [summary, pairs, annotators]
    run = researcher(show, store, access)
    go.click(run, [name, project, number], outputs, api_name="agreement")
    project.change(researcher(show, store, access, quiet=3), [name, project, number], outputs,
                   api_visibility="private")
    return run, outputs
