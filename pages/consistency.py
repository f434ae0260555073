"""Consistency tab: one source's ratings against one source's rankings, and the grid of all pairings."""

import gradio as gr

from pages.research import feedback, pickers, researcher
from sparse_feedback.analysis.sources import LLM
from sparse_feedback.report import views


def sources(store, project):
    """The sources to pick from (LLM, all humans, majority, each annotator)."""
    names = feedback(store, project).source_names()
    default = LLM if LLM in names else (names[0] if names else None)
    return gr.update(choices=names, value=default), gr.update(choices=names, value=default)


def show(store, project, rating_source, ranking_source):
    """(headline, heatmap, grid figure, grid table) for the chosen sources."""
    bundle = feedback(store, project)
    headline, heatmap, _ = views.consistency_view(bundle, rating_source, ranking_source)
    grid_figure, grid = views.grid_view(bundle)
    return headline, heatmap, grid_figure, grid


def build(store, shell=None):
    access, name, project = pickers(shell)
    gr.Markdown("How often do the preferences a source's **ratings** imply match a source's **rankings** "
                "on the same pairs? Rows: implied by ratings; columns: given by rankings.")
    with gr.Row():
        rating_source = gr.Dropdown(label="Ratings from", elem_id="consistency-ratings")
        ranking_source = gr.Dropdown(label="Rankings from", elem_id="consistency-rankings")
        refresh = gr.Button("Show", variant="primary", scale=0)
    headline = gr.Markdown(elem_id="consistency-headline")
    heatmap = gr.Plot(label="Implied by ratings vs given by rankings")
    grid_figure = gr.Plot(label="Every source pairing")
    grid = gr.Dataframe(label="Every source pairing", interactive=False)
    outputs = [headline, heatmap, grid_figure, grid]
    pick = researcher(sources, store, access, quiet=2)
    project.change(pick, [name, project], [rating_source, ranking_source], api_name="consistency_sources")
    run = researcher(show, store, access)
    for event in (refresh.click, rating_source.input, ranking_source.input):
        event(run, [name, project, rating_source, ranking_source], outputs, api_visibility="private")
    return run, outputs
