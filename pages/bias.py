"""Bias tab: preference vs length gap per protocol and source; position bias of the LLM's two orders."""

import gradio as gr
import pandas as pd

from pages.research import feedback, pickers, researcher
from sparse_feedback.report import views

INTRO = ("Does the longer response win more often under ratings than under rankings? And does the LLM "
         "judge pick a position rather than a response when asked both orders?")


def show(store, project):
    """(length-bias figure, its table, position-bias figure of the first LLM, position-bias table)."""
    length_figure, summary, position = views.bias_view(feedback(store, project))
    rows = [{"judge": llm, **{k: v for k, v in result.to_dict().items() if k != "counts"}}
            for llm, (_, result) in position.items()]
    first = next(iter(position.values()), (None, None))[0]
    return length_figure, summary, first, pd.DataFrame(rows)


def build(store, shell=None):
    access, name, project = pickers(shell, INTRO)
    go = gr.Button("Show", variant="primary")
    length_figure = gr.Plot(label="Length bias")
    summary = gr.Dataframe(label="Length bias per protocol and source", interactive=False)
    position_figure = gr.Plot(label="Position bias")
    position = gr.Dataframe(label="Position bias per LLM", interactive=False)
    outputs = [length_figure, summary, position_figure, position]
    run = researcher(show, store, access)
    go.click(run, [name, project], outputs, api_name="bias")
    return run, outputs
