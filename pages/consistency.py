"""Consistency tab: one source's ratings against one source's rankings, and the grid of all pairings."""

import gradio as gr

from pages.research import feedback, pickers, researcher
from sparse_feedback.analysis.sources import LLM
from sparse_feedback.report import views

INTRO = ("How often do the preferences a source's **ratings** imply match a source's **rankings** "
         "on the same pairs? Rows: implied by ratings; columns: given by rankings. Sources: the LLM, "
         "all humans (every annotation; ratings averaged per response), the majority of humans, or "
         "one annotator.")


def _pick(choice, names):
    return choice if choice in names else (LLM if LLM in names else (names[0] if names else None))


def show(store, project, rating_source=None, ranking_source=None):
    """(ratings picker, rankings picker, headline, heatmap, grid figure, grid table) for the chosen sources;
    a source not offered by the project falls back to the LLM."""
    bundle = feedback(store, project)
    names = bundle.source_names()
    rating_source, ranking_source = _pick(rating_source, names), _pick(ranking_source, names)
    headline, heatmap, _ = views.consistency_view(bundle, rating_source, ranking_source)
    grid_figure, grid = views.grid_view(bundle)
    return (gr.update(choices=names, value=rating_source), gr.update(choices=names, value=ranking_source),
            headline, heatmap, grid_figure, grid)


def build(store, shell=None):
    access, name, project = pickers(shell, INTRO)
    with gr.Row():
        rating_source = gr.Dropdown(label="Ratings from", elem_id="consistency-ratings")
        ranking_source = gr.Dropdown(label="Rankings from", elem_id="consistency-rankings")
        go = gr.Button("Show", variant="primary", scale=0, elem_id="consistency-show")
    headline = gr.Markdown(elem_id="consistency-headline")
    heatmap = gr.Plot(label="Implied by ratings vs given by rankings", elem_id="consistency-heatmap")
    grid_figure = gr.Plot(label="Every source pairing")
    grid = gr.Dataframe(label="Every source pairing", interactive=False)
    inputs = [name, project, rating_source, ranking_source]
    outputs = [rating_source, ranking_source, headline, heatmap, grid_figure, grid]
    run = researcher(show, store, access)
    go.click(run, inputs, outputs, api_name="consistency")
    for event in (rating_source.input, ranking_source.input):
        event(run, inputs, outputs, api_visibility="private")
    project.change(researcher(show, store, access, quiet=len(outputs)), inputs, outputs, api_visibility="private")
    return run, outputs
