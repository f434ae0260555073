"""The Admin tab's queue strategy section: which items annotators see next, and why."""

import gradio as gr

from pages import Shell, admin_only, bind, guarded
from sparse_feedback.report.tables import readable
from sparse_feedback.ui import queue


@guarded
def load(store, access, name, project, request: gr.Request):
    """(strategy, reward model and its choices, status, next items) for the chosen project."""
    access.admin(request, name)
    if not project:
        return gr.update(), gr.update(), "No project.", None
    strategy, model, status, items = queue.load(store, project)
    choices = queue.reward_model_choices()
    if model and model not in choices:
        choices.append(model)
    return strategy, gr.update(choices=choices, value=model or None), status, readable(items)


@guarded
def save(store, access, name, project, strategy, reward_model, request: gr.Request):
    access.admin(request, name)
    if not project:
        return "Choose a project first."
    return queue.save(store, project, strategy, reward_model)


def build(store, shell: Shell):
    access = shell.access
    with gr.Group():
        gr.Markdown("### Queue strategy\nWhich items annotators see next. The order is computed in the background "
                    "and stored; every answer still goes to *overlap* annotators, never twice to one person, and "
                    "tasks with fewer answers always come first.")
        with gr.Row():
            strategy = gr.Dropdown(list(queue.STRATEGIES), value="random", label="Strategy")
            model = gr.Dropdown([], label="Reward model (uncertainty)", allow_custom_value=True)
        save_btn = gr.Button("Use this strategy", size="sm")
        status = gr.Markdown()
        items = gr.Dataframe(label="Next items and why each was chosen", interactive=False, wrap=True)
        refresh = gr.Button("Refresh", size="sm")
    outputs = [strategy, model, status, items]
    loader = bind(load, store, access)
    refresh.click(loader, [shell.name, shell.project], outputs, api_name="queue_load")
    shell.project.change(admin_only(loader, len(outputs)), [shell.name, shell.project], outputs,
                         api_visibility="private", api_name="queue_on_project")
    save_btn.click(bind(save, store, access), [shell.name, shell.project, strategy, model], status,
                   api_name="queue_save")
    return loader, outputs
