"""LLM tab (admin): run the judge on a project's tasks; the key lives only in this request."""

import gradio as gr

from pages import Shell, bind, guarded
from sparse_feedback.device import DEVICES, auto_note
from sparse_feedback.jobs.llm import run_llm_judge


BATCH = "Batch (about half the price, up to 24 h)"
MODES = ["Live", BATCH]


@guarded
def run(store, access, name, project, protocol, base_url, model, api_key, mode, device="auto",
        request: gr.Request = None, progress=gr.Progress()):
    """Judge the project's tasks with live progress; returns (summary, cleared key box)."""
    access.admin(request, name)
    if not project:
        return "Choose a project first.", gr.update()
    callback = lambda done, total, desc: progress((done, total), desc=desc, unit="tasks")  # noqa: E731
    summary = run_llm_judge(store, project, protocol, (base_url or "").strip(), (model or "").strip(),
                            (api_key or "").strip() or None, callback, batch=mode == BATCH,
                            device=device or "auto")
    # The key box is emptied once the run is over, so the key stays no longer than the call needed it.
    return "Done: " + summary, ""


def build(store, shell: Shell):
    gr.Markdown("Ask an OpenAI-compatible server (or a model run on this machine) to rate every response (1–7) "
                "or rank every pair in both orders. "
                "Answers are cached, so a rerun pays only for what is missing. The key is used for this run only "
                "and is never stored: enter it again for the next run.")
    with gr.Row():
        base_url = gr.Textbox("http://127.0.0.1:8000/v1", label="Base URL (empty: run the model on this machine)")
        model = gr.Textbox(label="Model")
        api_key = gr.Textbox(label="API key", type="password", elem_id="llm-key")
        device = gr.Dropdown(list(DEVICES), value="auto", label="Device (local model only)", info=auto_note(),
                             elem_id="llm-device")
    protocol = gr.Radio(["ratings", "rankings"], value="ratings", label="Protocol")
    mode = gr.Radio(MODES, value="Live", label="Mode",
                    info="Batch: the server's Batch API; the run waits for it and a rerun resumes the same batch")
    button = gr.Button("Run judge", variant="primary")
    message = gr.Markdown(elem_id="llm-message")
    button.click(bind(run, store, shell.access),
                 [shell.name, shell.project, protocol, base_url, model, api_key, mode, device],
                 [message, api_key], api_name="llm_run")
