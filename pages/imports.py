"""Import tab (admin): upload any format the foundation reads, preview it, create a project."""

import logging
import re
import time
from pathlib import Path

import gradio as gr

from pages import Shell, bind, guarded
from sparse_feedback.errors import InputError
from sparse_feedback.store import importing
from sparse_feedback.store.limits import check_name
from sparse_feedback.ui.uploads import upload_path

log = logging.getLogger(__name__)
_ABSOLUTE = re.compile(r"(/[^\s'\"/]+)+/([^\s'\"/]+)")  # server paths in a message: keep the file name only


def _read(path, kind):
    """Read an upload; any failure becomes an InputError naming the file only (not the server's temp path)."""
    try:
        with upload_path(path) as local:
            return importing.read_upload(local, kind or "auto")
    except InputError as err:
        upload, inner = Path(str(path)).name, Path(err.path).name
        where = upload if inner == upload else f"{upload} ({inner})"  # a folder inside an uploaded zip
        raise InputError(where, _ABSOLUTE.sub(r"\2", err.message), err.where, err.column) from None
    except Exception as err:  # a reader's blind spot must still read as a refusal, not a traceback
        log.exception("unexpected failure reading an upload")
        raise InputError(Path(str(path)).name, f"could not read this file ({type(err).__name__})") from None


@guarded
def preview(store, access, name, upload, kind, request: gr.Request):
    """Read the upload; returns (message, preview table). Bad input shows the reader's message."""
    access.admin(request, name)
    if not upload:
        return "Choose a file first.", None
    try:
        up = _read(upload, kind)
    except InputError as err:
        return f"**error:** {err}", None
    extra = "with ratings" if up.ratings is not None else "with rankings" if up.rankings is not None else ""
    return (f"Read as **{up.kind}** {extra}: {len(up.generation)} instructions, "
            f"{sum(map(len, up.generation['responses']))} responses."), importing.preview(up)


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
        up = _read(upload, kind)
    except InputError as err:
        return f"**error:** {err}", gr.update()
    job_id = importing.start_import(store, up, project_name, int(overlap or 1), source_model)
    job = wait_for_import(store, job_id, progress)
    if job["status"] != "done":
        return f"**error:** {job['message']}", gr.update()
    names = [p.name for p in store.projects()]
    return f"Created **{project_name}**: {job['message']}.", gr.update(choices=names, value=project_name)


def wait_for_import(store, job_id: int, progress, poll: float = 0.5) -> dict:
    """Show the background import's progress until it ends (it goes on if the page is closed)."""
    while (job := store.job(job_id))["status"] == "running":
        done, _, total = (job["message"] or "0 of 0 items").partition(" of ")
        try:
            progress((int(done.replace(",", "")), int(total.split()[0].replace(",", ""))), desc="Importing")
        except (ValueError, IndexError):
            pass
        time.sleep(poll)
    return job


def build(store, shell: Shell):
    access = shell.access
    gr.Markdown("Upload a generation file, rating/ranking tasks or feedback (CSV with or without header, JSON, "
                "JSONL, parquet, or a zipped Hugging Face dataset folder). Feedback labels are stored as an LLM source.")
    with gr.Row():
        upload = gr.File(label="File", type="filepath")
        kind = gr.Dropdown(list(importing.UPLOAD_KINDS), value="auto", label="Kind")
    preview_btn = gr.Button("Preview")
    message = gr.Markdown(elem_id="import-message")
    table = gr.Dataframe(interactive=False, wrap=True)
    with gr.Row():
        project_name = gr.Textbox(label="New project name")
        overlap = gr.Number(1, precision=0, minimum=1, label="Annotators per task (overlap k)")
        source_model = gr.Textbox("llm", label="Source name for feedback labels")
    create_btn = gr.Button("Create project", variant="primary")
    preview_btn.click(bind(preview, store, access), [shell.name, upload, kind], [message, table],
                      api_name="import_preview")
    create_btn.click(bind(create, store, access), [shell.name, upload, kind, project_name, overlap, source_model],
                     [message, shell.project], api_name="import_create")
