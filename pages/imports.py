"""Import tab (admin): upload any format the foundation reads, preview it, create a project."""

from pathlib import Path

import gradio as gr

from pages import Shell, admin_only, bind, guarded
from sparse_feedback.errors import InputError
from sparse_feedback.jobs import imports as import_jobs
from sparse_feedback.store import importing
from sparse_feedback.store.limits import check_name
from sparse_feedback.ui.uploads import fetch_hub_upload


@guarded
def preview(store, access, name, upload, kind, request: gr.Request):
    """Read the upload (a large one in a process of its own); returns (message, preview table). Bad input shows
    the reader's message."""
    access.admin(request, name)
    if not upload:
        return "Choose a file first.", None
    try:
        return import_jobs.preview_file(upload, kind, Path(str(upload)).name)
    except InputError as err:
        return f"**Error:** {err}", None


@guarded
def create(store, access, name, upload, kind, project_name, overlap, source_model, request: gr.Request,
           progress=gr.Progress()):
    """Create a project from the upload; returns (message, project dropdown update). Nothing is written on error."""
    access.admin(request, name)
    # Client-chosen names are bounded before the (possibly large) upload is read.
    project_name = check_name("project name", project_name)
    source_model = check_name("LLM source name", source_model or "llm")
    if not upload:
        return "Choose a file first.", gr.update()
    try:
        job = import_jobs.import_file(store, upload, project_name, kind or "auto", int(overlap or 1), source_model,
                                      name=Path(str(upload)).name, progress=_shown(progress))
    except InputError as err:
        return f"**Error:** {err}", gr.update()
    if job["status"] != "done":
        return f"**Error:** {job['message']}", gr.update()
    names = [p.name for p in store.projects()]
    return f"Created **{project_name}**: {job['message']}.", gr.update(choices=names, value=project_name)


@guarded
def fetch(store, access, name, address, request: gr.Request):
    """A Hub dataset split (``hf://datasets/...``) fetched into a parquet file that Preview and Create then read
    as an upload; returns (message, the file)."""
    access.admin(request, name)
    try:
        path = fetch_hub_upload(address)
    except InputError as err:
        return f"**Error:** {err}", gr.update()
    return f"Fetched `{str(address).strip()}` as `{path.name}`: Preview it, then create the project.", str(path)


@guarded
def stop(store, access, name, request: gr.Request):
    """Stop the imports that are running (each removes what it wrote); returns a message."""
    access.admin(request, name)
    running = import_jobs.running(store)
    if not running:
        return "No import is running."
    return "; ".join(import_jobs.stop_import(store, i) for i in running) + "; nothing of them was kept."


@guarded
def stop_state(store, access, name, request: gr.Request):
    """Stop import is lit only while an import runs (this admin's, another's, or the CLI's)."""
    access.admin(request, name)
    return gr.update(interactive=bool(import_jobs.running(store)))


def _shown(progress):
    """The import job's progress as a gr.Progress bar ("read": the file; "write": items into the store)."""
    labels = {"read": "Reading the file", "write": "Writing items"}
    return lambda done, total, stage: progress((done, total), desc=labels.get(stage, stage), unit="items")


def build(store, shell: Shell):
    access = shell.access
    gr.Markdown("Upload a generation file, rating/ranking tasks or feedback (CSV with or without header, JSON, "
                "JSONL, parquet, or a zipped Hugging Face dataset folder). Feedback labels are stored as an LLM source.")
    with gr.Row():
        upload = gr.File(label="File", type="filepath")
        kind = gr.Dropdown(list(importing.UPLOAD_KINDS), value="auto", label="Kind")
    with gr.Row():
        address = gr.Textbox(label="Or a Hub dataset: hf://datasets/OWNER/NAME[/CONFIG][@REVISION][:SPLIT]",
                             elem_id="import-hub-address", scale=3)
        fetch_btn = gr.Button("Fetch from the Hub", elem_id="import-hub-fetch", scale=1)
    preview_btn = gr.Button("Preview")
    message = gr.Markdown(elem_id="import-message")
    table = gr.Dataframe(headers=["instruction", "input", "responses"], label="Preview", interactive=False, wrap=True)
    with gr.Row():
        project_name = gr.Textbox(label="New project name")
        overlap = gr.Number(1, precision=0, minimum=1, label="Annotators per task (overlap k)")
        source_model = gr.Textbox("llm", label="Source name for feedback labels")
    with gr.Row():
        create_btn = gr.Button("Create project", variant="primary")
        stop_btn = gr.Button("Stop import", interactive=False, elem_id="import-stop")
    preview_btn.click(bind(preview, store, access), [shell.name, upload, kind], [message, table],
                      api_name="import_preview")
    state = admin_only(bind(stop_state, store, access), 1)
    create_btn.click(bind(create, store, access), [shell.name, upload, kind, project_name, overlap, source_model],
                     [message, shell.project], api_name="import_create").then(
        state, [shell.name], stop_btn, api_visibility="private", api_name="import_stop_after")
    stop_btn.click(bind(stop, store, access), [shell.name], [message], api_name="import_stop").then(
        state, [shell.name], stop_btn, api_visibility="private", api_name="import_stop_state")
    fetch_btn.click(bind(fetch, store, access), [shell.name, address], [message, upload], api_name="import_fetch")
    # The import runs in a process of its own: a timer lights Stop while one runs, whoever started it.
    gr.Timer(2.0).tick(state, [shell.name], stop_btn, api_visibility="private", api_name="import_running",
                       show_progress="hidden")
