"""The Admin tab's study panel: gold rate, paired design, gold file, the per-annotator quality table, exclusion,
crowd-platform study links and the log of every study change."""

import gradio as gr

from pages import Shell, admin_only, bind, guarded
from sparse_feedback.ui import studies

QUIET = dict(show_progress="hidden")


def _admin(access, request, name, project):
    who = access.admin(request, name)
    if not project:
        raise gr.Error("choose a project first", print_exception=False)
    return who.name


@guarded
def load(store, access, name, project, request: gr.Request):
    """(gold every, paired, fast seconds, summary, quality table, item times, links, log, annotator choices, the
    fast answers' count and list)."""
    _admin(access, request, name, project)
    p = studies.panel(store, project)
    return (p.gold_every, p.paired, p.fast_seconds, p.summary, p.quality, p.items, p.links, p.log,
            gr.update(choices=p.annotators, value=[]), p.fast_note, p.fast)


@guarded
def save(store, access, name, project, gold_every, paired, fast_seconds, request: gr.Request):
    return studies.save_settings(store, project, _admin(access, request, name, project), gold_every, paired,
                                 fast_seconds)


@guarded
def import_gold(store, access, name, project, upload, request: gr.Request):
    return studies.import_gold_file(store, project, _admin(access, request, name, project), upload)


@guarded
def mark_one(store, access, name, project, item, responses, expected, request: gr.Request):
    return studies.mark_one(store, project, _admin(access, request, name, project), item, responses, expected)


@guarded
def adjudicated_gold(store, access, name, project, request: gr.Request):
    return studies.adjudicated_as_gold(store, project, _admin(access, request, name, project))


@guarded
def exclude(store, access, name, project, annotators, threshold, request: gr.Request):
    return studies.set_exclusion(store, project, _admin(access, request, name, project), annotators, True,
                                 threshold)


@guarded
def include(store, access, name, project, annotators, request: gr.Request):
    return studies.set_exclusion(store, project, _admin(access, request, name, project), annotators, False)


@guarded
def create_link(store, access, name, project, quota, code, redirect_url, host, request: gr.Request):
    return studies.new_link(store, project, _admin(access, request, name, project), quota, code, redirect_url, host)


@guarded
def revoke_link(store, access, name, project, link_id, request: gr.Request):
    return studies.revoke_link(store, project, _admin(access, request, name, project), link_id)


def build(store, shell: Shell):
    access, common = shell.access, [shell.name, shell.project]
    with gr.Accordion("Human study: gold, paired design, annotator quality, exclusion, study links", open=False,
                      elem_id="study-panel"):
        summary = gr.Markdown(elem_id="study-summary")
        with gr.Row(equal_height=True):
            gold_every = gr.Number(0, precision=0, minimum=0, label="One gold task in every N served (0: off)")
            paired = gr.Checkbox(False, label="Paired design: each annotator rates and ranks the same items")
            fast = gr.Number(0, minimum=0, label="Flag answers faster than (seconds, 0: off)")
            save_btn = gr.Button("Save study settings", variant="primary", elem_id="study-save")
        with gr.Row(equal_height=True):
            gold_file = gr.File(label="Gold file (rating or ranking feedback columns)", type="filepath")
            gold_btn = gr.Button("Mark as gold", elem_id="study-gold")
            adjudicated_btn = gr.Button("Mark adjudicated pairs as gold", elem_id="study-gold-adjudicated")
        with gr.Row(equal_height=True):
            gold_item = gr.Number(None, precision=0, minimum=0, label="Item number")
            gold_responses = gr.Textbox(label="Response ('2') or pair ('0,1')")
            gold_expected = gr.Textbox(label="Expected: 1-7, or (a) / (b) / equal")
            one_btn = gr.Button("Mark this task as gold", elem_id="study-gold-one")
        message = gr.Markdown(elem_id="study-message")
        refresh = gr.Button("Refresh the quality table", size="sm", elem_id="study-refresh")
        quality = gr.Dataframe(label="Per-annotator quality", interactive=False, wrap=True, elem_id="study-quality")
        with gr.Row(equal_height=True):
            who = gr.Dropdown([], value=[], multiselect=True, label="Annotators", allow_custom_value=True,
                              elem_id="study-who")
            threshold = gr.Number(None, minimum=0, maximum=1, label="Also exclude gold accuracy below (0-1)")
            exclude_btn = gr.Button("Exclude", variant="stop", elem_id="study-exclude")
            include_btn = gr.Button("Include again", elem_id="study-include")
        with gr.Row(equal_height=True):
            quota = gr.Number(20, precision=0, minimum=1, label="Answers per participant")
            code = gr.Textbox(label="Completion code (empty: random)")
            redirect = gr.Textbox(label="Completion URL (optional, e.g. Prolific's)")
            host = gr.Textbox(label="This app's address", placeholder="https://your-space.hf.space")
            link_btn = gr.Button("Create study link", elem_id="study-link")
        with gr.Row(equal_height=True):
            link_id = gr.Number(None, precision=0, label="Study link id")
            revoke_btn = gr.Button("Revoke link", variant="stop", elem_id="study-revoke")
        links_table = gr.Dataframe(label="Study links", interactive=False)
        items = gr.Dataframe(label="Time on task per item", interactive=False)
        fast_note = gr.Markdown(elem_id="study-fast-note")
        fast_table = gr.Dataframe(label="Fast answers, newest first", interactive=False, elem_id="study-fast")
        log = gr.Dataframe(label="Study log (who changed what, when)", interactive=False)
    outputs = [gold_every, paired, fast, summary, quality, items, links_table, log, who, fast_note, fast_table]
    loader = bind(load, store, access)
    refresh.click(loader, common, outputs, api_name="study_load", **QUIET)
    shell.project.change(admin_only(loader, len(outputs)), common, outputs, api_visibility="private",
                         api_name="study_on_project", **QUIET)
    for button, fn, inputs, name in (
            (save_btn, save, [gold_every, paired, fast], "study_save"),
            (gold_btn, import_gold, [gold_file], "study_gold"),
            (one_btn, mark_one, [gold_item, gold_responses, gold_expected], "study_gold_one"),
            (adjudicated_btn, adjudicated_gold, [], "study_gold_adjudicated"),
            (exclude_btn, exclude, [who, threshold], "study_exclude"),
            (include_btn, include, [who], "study_include"),
            (link_btn, create_link, [quota, code, redirect, host], "study_link"),
            (revoke_btn, revoke_link, [link_id], "study_revoke")):
        # The panel again once the change is stored (a refused change leaves it as it was).
        button.click(bind(fn, store, access), [*common, *inputs], message, api_name=name, **QUIET).success(
            loader, common, outputs, api_visibility="private", api_name=f"{name}_reload", **QUIET)
