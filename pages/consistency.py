"""Consistency tab: one source's ratings against one source's rankings, and the grid of all pairings."""

import gradio as gr

from pages.research import feedback, on_open, pickers, researcher
from sparse_feedback.ui import dashboards, studies

INTRO = ("How often do the preferences a source's **ratings** imply match a source's **rankings** "
         "on the same pairs? Rows: implied by ratings; columns: given by rankings. Sources: the LLM, "
         "all humans (every annotation; ratings averaged per response), the majority of humans, or "
         "one annotator.")


def show(store, project, rating_source=None, ranking_source=None):
    """(ratings picker, rankings picker, headline, heatmap, grid figure, grid table) for the chosen sources;
    a source not offered by the project falls back to the LLM. The grid is hidden while it would be one cell."""
    names, rating_source, ranking_source, headline, heatmap, grid_figure, grid = dashboards.consistency(
        feedback(store, project), rating_source, ranking_source)
    headline = f"{headline}\n\n_{studies.used_note(store, project)}_"
    return (gr.update(choices=names, value=rating_source), gr.update(choices=names, value=ranking_source), headline,
            heatmap, gr.update(value=grid_figure, visible=grid_figure is not None),
            gr.update(value=grid, visible=len(grid) > 0))


def build(store, shell=None, tab=None):
    access, name, project = pickers(shell, INTRO)
    with gr.Row():
        rating_source = gr.Dropdown(label="Ratings from", elem_id="consistency-ratings")
        ranking_source = gr.Dropdown(label="Rankings from", elem_id="consistency-rankings")
        go = gr.Button("Show", variant="primary", scale=0, elem_id="consistency-show")
    headline = gr.Markdown(elem_id="consistency-headline")
    heatmap = gr.Plot(label="Implied by ratings vs given by rankings", elem_id="consistency-heatmap")
    grid_figure = gr.Plot(label="Every source pairing", elem_id="consistency-grid")
    grid = gr.Dataframe(label="Every source pairing", interactive=False, elem_id="consistency-grid-table")
    inputs = [name, project, rating_source, ranking_source]
    outputs = [rating_source, ranking_source, headline, heatmap, grid_figure, grid]
    run = researcher(show, store, access)
    go.click(run, inputs, outputs, api_name="consistency")
    for event in (rating_source.input, ranking_source.input):
        event(run, inputs, outputs, api_visibility="private")
    on_open(show, store, access, project, inputs, outputs, tab)
    return run, outputs
