"""Agreement tab: inter-annotator κ/α per protocol, κ/α between every pair of sources, per-annotator tables."""

import gradio as gr

from pages.research import feedback, on_open, pickers, researcher
from sparse_feedback.ui import dashboards, studies

INTRO = ("Cohen's κ per annotator pair, Fleiss' κ, Krippendorff's α (ordinal for ratings, nominal for "
         "rankings); human vs LLM pairs every human answer with the LLM's on the same item. The heatmap "
         "compares every source (each LLM, the majority of humans, each annotator) on the items both labelled.")


def show(store, project, number=1):
    """(note, per-protocol summary, κ/α heatmap between sources, one page of annotator-pair κ, per-annotator
    table); the plot and the annotator tables are hidden while there is nothing to compare."""
    note, summary, heatmap, pairs, annotators = dashboards.agreement(feedback(store, project), number or 1)
    humans = len(annotators) > 0
    note = f"{note} {studies.used_note(store, project)}."
    return (note, summary, gr.update(value=heatmap, visible=heatmap is not None),
            gr.update(value=pairs, visible=humans), gr.update(value=annotators, visible=humans))


def build(store, shell=None, tab=None):
    access, name, project = pickers(shell, INTRO)
    with gr.Row():
        number = gr.Number(1, label="Page of annotator pairs", precision=0, minimum=1)
        go = gr.Button("Show", variant="primary", scale=0)
    note = gr.Markdown(elem_id="agreement-note")
    with gr.Row(equal_height=False):
        summary = gr.Dataframe(label="Per protocol", interactive=False, wrap=True, elem_id="agreement-summary",
                               scale=2)
        heatmap = gr.Plot(label="Between sources", elem_id="agreement-heatmap", scale=3)
    pairs = gr.Dataframe(label="Annotator pairs (Cohen's κ)", interactive=False, wrap=True)
    annotators = gr.Dataframe(label="Per annotator", interactive=False, wrap=True)
    outputs = [note, summary, heatmap, pairs, annotators]
    run = researcher(show, store, access)
    go.click(run, [name, project, number], outputs, api_name="agreement")
    on_open(show, store, access, project, [name, project, number], outputs, tab)
    return run, outputs
