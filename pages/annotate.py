"""The parts the Rate and Rank tabs share: the task panel, and the show / answer / undo / skip handlers."""

import gradio as gr

from pages import Shell, bind, guarded
from sparse_feedback.ui import annotation
from sparse_feedback.ui.access import AccessError
from sparse_feedback.ui.render import safe_markdown


def _outputs(view: annotation.View, protocol: str) -> tuple:
    texts = (view.response,) if protocol == "ratings" else (view.left, view.right)
    # A plain value for every output: an update (gr.update()) makes Gradio build a component per call.
    return (safe_markdown(view.guideline), view.progress, view.instruction, view.input, *texts, view.ticket,
            view.result)


def _annotator(access, request, name, project):
    """(who, the project they annotate): their own queue, or a public visitor's sandbox copy."""
    who = access.require(request, name, "annotate")
    return who, access.annotation_project(who, project)


@guarded
def show(store, access, protocol, project, name, request: gr.Request):
    """The caller's current task for ``protocol`` (resumed after a reload); only a hint when nobody is known."""
    try:
        who, project = _annotator(access, request, name, project)
    except AccessError as err:
        return _outputs(annotation.View(progress=f"_{err}_"), protocol)
    return _outputs(annotation.show(store, who, project, protocol), protocol)


@guarded(failed="could not save your answer; it was not recorded")
def answer(store, access, protocol, project, name, ticket, choice, request: gr.Request):
    """Submit ``choice`` for the task in ``ticket`` (idempotent on the ticket's submit id); show the next."""
    who, project = _annotator(access, request, name, project)
    return _outputs(annotation.answer(store, who, project, protocol, ticket, choice), protocol)


@guarded
def undo(store, access, protocol, project, name, request: gr.Request):
    who, project = _annotator(access, request, name, project)
    return _outputs(annotation.undo(store, who, project, protocol), protocol)


@guarded
def skip(store, access, protocol, project, name, ticket, request: gr.Request):
    who, project = _annotator(access, request, name, project)
    return _outputs(annotation.skip(store, who, project, protocol, ticket), protocol)


def task_panel(protocol: str):
    """Guideline, progress, the texts and the hidden ticket; returns (outputs list, ticket)."""
    prefix = "rate" if protocol == "ratings" else "rank"
    with gr.Accordion("Guideline", open=False):
        guideline = gr.Markdown(elem_id=f"{prefix}-guideline")
    progress = gr.Markdown(elem_id=f"{prefix}-progress")
    instruction = gr.Markdown(sanitize_html=True, elem_classes=["sf-text"])
    inp = gr.Markdown(sanitize_html=True, elem_classes=["sf-text"])
    if protocol == "ratings":
        texts = [gr.Markdown(sanitize_html=True, elem_classes=["sf-text", "sf-response"], elem_id="rate-response")]
    else:
        with gr.Row(equal_height=True):
            texts = [gr.Markdown(sanitize_html=True, elem_classes=["sf-text", "sf-response"], elem_id="rank-left-text"),
                     gr.Markdown(sanitize_html=True, elem_classes=["sf-text", "sf-response"], elem_id="rank-right-text")]
    ticket = gr.JSON(visible=False)
    result = gr.Markdown(elem_id=f"{prefix}-result")
    return [guideline, progress, instruction, inp, *texts, ticket, result], ticket


def wire(store, shell: Shell, protocol: str, choice_buttons, undo_btn, skip_btn, outputs, ticket):
    """Connect buttons and page events. Button 0's event is the public ``<prefix>_submit`` endpoint."""
    prefix = "rate" if protocol == "ratings" else "rank"
    access, common = shell.access, [shell.project, shell.name]
    for i, (button, value) in enumerate(choice_buttons):
        choice = gr.Textbox(value, visible=False)
        button.click(bind(answer, store, access, protocol), [*common, ticket, choice], outputs,
                     api_name=f"{prefix}_submit" if i == 0 else f"{prefix}_submit_{value}",
                     api_visibility="public" if i == 0 else "private", concurrency_limit=None)
    undo_btn.click(bind(undo, store, access, protocol), common, outputs, api_name=f"{prefix}_undo",
                   concurrency_limit=None)
    skip_btn.click(bind(skip, store, access, protocol), [*common, ticket], outputs, api_name=f"{prefix}_skip",
                   concurrency_limit=None)
    shown = bind(show, store, access, protocol)
    for event, name, visibility in ((shell.project.change, f"{prefix}_show", "public"),
                                    (shell.name.submit, f"{prefix}_show_on_name", "private")):
        event(shown, common, outputs, api_name=name, api_visibility=visibility, concurrency_limit=None)
    return shown
