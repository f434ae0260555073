"""The parts the Rate and Rank tabs share: the task panel with its comment and flags, the show / answer / undo /
skip handlers, and the annotator's own answers with their edit form.

Every event here runs with ``show_progress="hidden"``: a refusal (no name, not yours, a bad answer) is one
message, never an "Error" badge on each output.
"""

import gradio as gr

from pages import Shell, admin_only, bind, guarded
from sparse_feedback.store.limits import COMMENT_MAX
from sparse_feedback.ui import annotation, history
from sparse_feedback.ui.access import AccessError
from sparse_feedback.ui.render import safe_markdown

QUIET = dict(show_progress="hidden", concurrency_limit=None)


def _outputs(view: annotation.View, protocol: str) -> tuple:
    texts = (view.response,) if protocol == "ratings" else (view.left, view.right)
    # A plain value for every output but the "Annotate myself" button, whose visibility needs an update
    # (an update makes Gradio build a component per call: one small button is cheap).
    return (safe_markdown(view.guideline), view.progress, view.instruction, view.input, *texts, view.ticket,
            view.result, view.comment, view.flags, gr.update(visible=view.offer))


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


@guarded
def annotate_myself(store, access, protocol, project, name, request: gr.Request):
    """An admin or researcher asks for tasks: their first one is assigned and shown (later ones follow as for
    any annotator)."""
    who, project = _annotator(access, request, name, project)
    return _outputs(annotation.show(store, who, project, protocol, take=True), protocol)


@guarded(failed="could not save your answer; it was not recorded")
def answer(store, access, protocol, project, name, ticket, choice, comment, flags, request: gr.Request):
    """Submit ``choice`` (with an optional comment and flags) for the task in ``ticket`` (idempotent on the
    ticket's submit id); show the next."""
    who, project = _annotator(access, request, name, project)
    return _outputs(annotation.answer(store, who, project, protocol, ticket, choice, comment, flags), protocol)


@guarded
def undo(store, access, protocol, project, name, request: gr.Request):
    who, project = _annotator(access, request, name, project)
    return _outputs(annotation.undo(store, who, project, protocol), protocol)


@guarded
def skip(store, access, protocol, project, name, ticket, request: gr.Request):
    who, project = _annotator(access, request, name, project)
    return _outputs(annotation.skip(store, who, project, protocol, ticket), protocol)


@guarded
def my_answers(store, access, protocol, project, name, request: gr.Request):
    """The caller's own answers: (table, picker, note)."""
    who, project = _annotator(access, request, name, project)
    found = history.listing(store, who, project, protocol)
    return found.table, gr.update(choices=found.choices, value=None), found.note


def answers_on_project(store, access, protocol, project, name, request: gr.Request):
    """Another project was picked: its answers in the table and an empty edit form."""
    table, pick, note = my_answers(store, access, protocol, project, name, request)
    return table, pick, note, "", None, "", []


@guarded
def open_answer(store, access, protocol, project, name, annotation_id, request: gr.Request):
    """One of the caller's answers in the edit form: (item, choice, comment, flags)."""
    who, project = _annotator(access, request, name, project)
    opened = history.open_answer(store, who, project, protocol, annotation_id)
    return opened.text, opened.choice, opened.comment, opened.flags


@guarded(failed="could not save your edit; it was not recorded")
def edit_answer(store, access, protocol, project, name, annotation_id, choice, comment, flags,
                request: gr.Request):
    """Save the edit as a new version: (message, table, picker on the new version, note)."""
    who, project = _annotator(access, request, name, project)
    message, current = history.save_edit(store, who, project, protocol, annotation_id, choice, comment, flags)
    found = history.listing(store, who, project, protocol)
    return message, found.table, gr.update(choices=found.choices, value=current), found.note


def task_panel(protocol: str):
    """Guideline, progress, the texts, the comment and flags, and the hidden ticket; returns (outputs list, ticket,
    (comment, flags), the "Annotate myself" button)."""
    prefix = "rate" if protocol == "ratings" else "rank"
    with gr.Accordion("Guideline", open=False):
        guideline = gr.Markdown(elem_id=f"{prefix}-guideline")
    progress = gr.Markdown(elem_id=f"{prefix}-progress")
    # Offered to admins and researchers, who are handed no task until they ask (``annotation.show``).
    myself = gr.Button("Annotate myself", elem_id=f"{prefix}-myself", visible=False, size="sm", scale=0)
    with gr.Column(elem_classes=["sf-task"], elem_id=f"{prefix}-task"):
        instruction = gr.Markdown(sanitize_html=True, elem_classes=["sf-text"])
        inp = gr.Markdown(sanitize_html=True, elem_classes=["sf-text"])
        if protocol == "ratings":
            texts = [gr.Markdown(sanitize_html=True, elem_classes=["sf-text", "sf-response"], elem_id="rate-response")]
        else:
            with gr.Row(equal_height=True):
                texts = [gr.Markdown(sanitize_html=True, elem_classes=["sf-text", "sf-response"],
                                     elem_id="rank-left-text"),
                         gr.Markdown(sanitize_html=True, elem_classes=["sf-text", "sf-response"],
                                     elem_id="rank-right-text")]
    with gr.Row(equal_height=True, elem_classes=["sf-notes"]):
        # Initial values make both optional for API clients (gradio_client fills them in).
        flags = gr.CheckboxGroup(annotation.FLAG_CHOICES, value=[], label="Flags (optional)", elem_id=f"{prefix}-flags",
                                 scale=1)
        comment = gr.Textbox("", label="Comment (optional)", placeholder="Anything the researchers should know",
                             max_length=COMMENT_MAX, elem_id=f"{prefix}-comment", scale=2)
    ticket = gr.JSON(visible=False)
    result = gr.Markdown(elem_id=f"{prefix}-result")
    return ([guideline, progress, instruction, inp, *texts, ticket, result, comment, flags, myself], ticket,
            (comment, flags), myself)


def history_panel(protocol: str) -> dict:
    """The caller's own answers and the form to edit one (keys never answer the task from in here)."""
    prefix = "rate" if protocol == "ratings" else "rank"
    with gr.Accordion("Your answers: see and edit", open=False, elem_id=f"{prefix}-history",
                      elem_classes=["sf-nokeys"]) as panel:
        refresh = gr.Button("Show my answers", size="sm", elem_id=f"{prefix}-history-refresh")
        note = gr.Markdown(elem_id=f"{prefix}-history-note")
        table = gr.Dataframe(headers=history.COLUMNS, interactive=False, wrap=True, elem_id=f"{prefix}-history-table")
        pick = gr.Dropdown([], value=None, label="Answer to edit", elem_id=f"{prefix}-history-pick",
                           allow_custom_value=True)  # the handler checks the answer is the caller's
        item = gr.Markdown(sanitize_html=True, elem_classes=["sf-text"], elem_id=f"{prefix}-history-item")
        choice = gr.Radio(history.CHOICES[protocol], label="Your answer", elem_id=f"{prefix}-history-choice")
        with gr.Row(equal_height=True):
            flags = gr.CheckboxGroup(annotation.FLAG_CHOICES, label="Flags", elem_id=f"{prefix}-history-flags")
            comment = gr.Textbox(label="Comment", max_length=COMMENT_MAX, elem_id=f"{prefix}-history-comment", scale=2)
        save = gr.Button("Save as a new version", variant="primary", elem_id=f"{prefix}-history-save")
        message = gr.Markdown(elem_id=f"{prefix}-history-message")
    return dict(panel=panel, refresh=refresh, note=note, table=table, pick=pick, item=item, choice=choice,
                flags=flags, comment=comment, save=save, message=message)


def wire_history(store, shell: Shell, protocol: str, h: dict) -> None:
    prefix = "rate" if protocol == "ratings" else "rank"
    access, common = shell.access, [shell.project, shell.name]
    listed = bind(my_answers, store, access, protocol)
    h["refresh"].click(listed, common, [h["table"], h["pick"], h["note"]], api_name=f"{prefix}_history",
                       api_visibility="private", **QUIET)
    h["panel"].expand(listed, common, [h["table"], h["pick"], h["note"]], api_name=f"{prefix}_history_on_open",
                      api_visibility="private", **QUIET)
    # Another project: its answers replace the last one's (a visitor who may not annotate gets no change).
    shell.project.change(admin_only(bind(answers_on_project, store, access, protocol), 7), common,
                         [h["table"], h["pick"], h["note"], h["item"], h["choice"], h["comment"], h["flags"]],
                         api_name=f"{prefix}_history_on_project", api_visibility="private", **QUIET)
    h["pick"].input(bind(open_answer, store, access, protocol), [*common, h["pick"]],
                    [h["item"], h["choice"], h["comment"], h["flags"]], api_name=f"{prefix}_history_pick",
                    api_visibility="private", **QUIET)
    h["save"].click(bind(edit_answer, store, access, protocol), [*common, h["pick"], h["choice"], h["comment"],
                                                                  h["flags"]],
                    [h["message"], h["table"], h["pick"], h["note"]], api_name=f"{prefix}_edit",
                    api_visibility="private", **QUIET)


def wire(store, shell: Shell, protocol: str, choice_buttons, undo_btn, skip_btn, outputs, ticket, notes, myself):
    """Connect buttons and page events. Button 0's event is the public ``<prefix>_submit`` endpoint."""
    prefix = "rate" if protocol == "ratings" else "rank"
    access, common = shell.access, [shell.project, shell.name]
    myself.click(bind(annotate_myself, store, access, protocol), common, outputs, api_name=f"{prefix}_myself",
                 api_visibility="private", **QUIET)
    for i, (button, value) in enumerate(choice_buttons):
        choice = gr.Textbox(value, visible=False)
        button.click(bind(answer, store, access, protocol), [*common, ticket, choice, *notes], outputs,
                     api_name=f"{prefix}_submit" if i == 0 else f"{prefix}_submit_{value}",
                     api_visibility="public" if i == 0 else "private", **QUIET)
    undo_btn.click(bind(undo, store, access, protocol), common, outputs, api_name=f"{prefix}_undo", **QUIET)
    skip_btn.click(bind(skip, store, access, protocol), [*common, ticket], outputs, api_name=f"{prefix}_skip",
                   **QUIET)
    shown = bind(show, store, access, protocol)
    for event, name, visibility in ((shell.project.change, f"{prefix}_show", "public"),
                                    (shell.name.submit, f"{prefix}_show_on_name", "private")):
        event(shown, common, outputs, api_name=name, api_visibility=visibility, **QUIET)
    return shown


def build(store, shell: Shell, protocol: str, make_buttons, keys: str):
    """A Rate or Rank tab: the task, ``make_buttons()`` (a list of (button, choice)), undo and skip, the key hint
    and the annotator's own answers. Returns (the show handler, its outputs) for the page load."""
    prefix = "rate" if protocol == "ratings" else "rank"
    outputs, ticket, notes, myself = task_panel(protocol)
    with gr.Row():
        buttons = make_buttons()
    with gr.Row():
        undo_btn = gr.Button("Undo (U)", elem_id=f"{prefix}-undo", size="sm")
        skip_btn = gr.Button("Skip (S)", elem_id=f"{prefix}-skip", size="sm")
    gr.Markdown(keys + " · **U** undo · **S** skip · **Esc** leaves a text box", elem_classes=["sf-hint"])
    panel = history_panel(protocol)
    wire_history(store, shell, protocol, panel)
    return wire(store, shell, protocol, buttons, undo_btn, skip_btn, outputs, ticket, notes, myself), outputs
