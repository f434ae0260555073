"""Bias tab: preference vs length gap per protocol and source; position bias of the LLM's two orders."""

import gradio as gr

from pages.research import feedback, on_open, pickers, researcher
from sparse_feedback.ui import dashboards

INTRO = ("Does the longer response win more often under ratings than under rankings? And does the LLM "
         "judge pick a position rather than a response when asked both orders?")


def show(store, project):
    """(length-bias figure, its table, position-bias figure of the first LLM, position-bias table)."""
    return dashboards.bias(feedback(store, project))


def build(store, shell=None, tab=None):
    access, name, project = pickers(shell, INTRO)
    go = gr.Button("Show", variant="primary")
    length_figure = gr.Plot(label="Length bias", elem_id="bias-length")
    summary = gr.Dataframe(label="Length bias per protocol and source", interactive=False)
    position_figure = gr.Plot(label="Position bias", elem_id="bias-position")
    position = gr.Dataframe(label="Position bias per LLM", interactive=False, wrap=True)
    outputs = [length_figure, summary, position_figure, position]
    run = researcher(show, store, access)
    go.click(run, [name, project], outputs, api_name="bias")
    on_open(show, store, access, project, [name, project], outputs, tab)
    return run, outputs
