"""Train tab (admin): train a reward model on a project's human or LLM feedback as a background job.

The job is a subprocess recorded in the store's jobs table, so it survives a page reload; the curve
and the log tail are read back from its output directory every few seconds.
"""

from typing import Optional

import gradio as gr
import plotly.graph_objects as go

from pages import Shell, admin_only, bind, guarded, stop_handler
from sparse_feedback.device import DEVICES, DTYPES, auto_note, describe
from sparse_feedback.jobs import training
from sparse_feedback.report.tables import reward_models_table
from sparse_feedback.ui import training as views
from sparse_feedback.ui.hub import push_token, push_trained_model

METRICS = ("eval_accuracy", "eval_implied_pairs_accuracy", "eval_spearman", "eval_mse")


def job_choices(store) -> list[tuple[str, str]]:
    """Dropdown entries for the training jobs, newest first."""
    frame = training.training_jobs(store)
    return [(f"#{r.id} {r.args.get('protocol', '')} · {r.args.get('project') or ''} {r.args.get('source') or ''}"
             f" · {r.status}", str(r.id)) for r in frame.itertuples()]


def curve(rows: list[dict]) -> go.Figure:
    """Training loss per step, and evaluation metrics (right axis) where they were logged."""
    fig = go.Figure()
    steps = [r for r in rows if "loss" in r]
    # Markers too: a run that has logged one step shows that point, not an empty line.
    fig.add_trace(go.Scatter(x=[r["step"] for r in steps], y=[r["loss"] for r in steps], name="train loss",
                             mode="lines+markers" if len(steps) < 50 else "lines"))
    for key in METRICS:
        points = [r for r in rows if r.get(key) is not None]
        if points:
            fig.add_trace(go.Scatter(x=[r["step"] for r in points], y=[r[key] for r in points], yaxis="y2",
                                     name=key.removeprefix("eval_").replace("_", " "), mode="lines+markers"))
    fig.update_layout(xaxis_title="step", yaxis_title="loss", margin=dict(l=40, r=40, t=30, b=40), height=320,
                      yaxis2=dict(overlaying="y", side="right", title="eval"), legend=dict(orientation="h"))
    return fig


def job_view(store, job_id) -> tuple[str, go.Figure | None, str]:
    """(status line, curve, Log box) of one training job (no curve without one)."""
    job = store.job(int(job_id)) if job_id else None
    if job is None:
        return "No training job yet: start one above.", None, ""
    out = job["args"].get("output_dir")
    rows = training.read_log(out)
    last = next((r for r in reversed(rows) if "loss" in r), None)
    total = views.total_steps(out)
    progress = f" · step {last['step']}{f'/{total}' if total else ''} · loss {last['loss']:.4f}" if last else ""
    status = f"**#{job['id']}** {job['status']}{progress} · `{out}`" + (f" · {job['message']}" if job["message"] else "")
    if job["args"].get("aggregation"):
        status += f"  \nTrained on {job['args']['aggregation']}."
    return status, curve(rows), views.log_box(job)


@guarded
def start(store, access, name, project, source, protocol, model, epochs, batch_size, lr, max_length, lora_r, full,
          every_annotation, device, dtype, load_in_8bit, request: gr.Request):
    access.require(request, name, "jobs", project)
    if not project:
        return "Choose a project first.", gr.update()
    job_id, out = training.start_project_training(
        store, project, source, protocol, (model or "smollm2-135m").strip(), every_annotation=bool(every_annotation),
        epochs=float(epochs), batch_size=int(batch_size), lr=float(lr), max_length=int(max_length),
        lora_r=int(lora_r), full=bool(full), device=device or "auto", dtype=dtype or "auto",
        load_in_8bit=bool(load_in_8bit))
    aggregation = store.job(job_id)["args"].get("aggregation")
    return (f"Started training job #{job_id} in `{out}` on {aggregation}.",
            gr.update(choices=job_choices(store), value=str(job_id)))


@guarded
def show(store, access, name, job_id, request: gr.Request):
    access.require(request, name, "jobs")
    status, figure, tail = job_view(store, job_id)
    shown = figure is not None  # no empty axes or log box before a job exists
    job = store.job(int(job_id)) if job_id else None
    running = job is not None and job["status"] == "running"  # Stop is lit only while there is something to stop
    return (status, gr.update(value=figure, visible=shown), gr.update(value=tail, visible=shown),
            f"Training device here: **{describe()}**", gr.update(interactive=running),
            gr.update(visible=shown))


@guarded
def tick(store, access, name, job_id, seen, request: gr.Request):
    """The timer: the job's view, and the picker's labels again once the job's status has changed (a run that
    has ended is no longer listed as running)."""
    view = show(store, access, name, job_id, request)
    job = store.job(int(job_id)) if job_id else None
    now = job["status"] if job else None
    picker = gr.update(choices=job_choices(store), value=str(job_id)) if job and now != seen else gr.update()
    return (*view, picker, now)


@guarded
def full_log(store, access, name, job_id, request: gr.Request):
    """The chosen job's whole console output (progress bars, load reports, library warnings) as a file."""
    access.require(request, name, "jobs")
    job = store.job(int(job_id)) if job_id else None
    path = views.full_log(job) if job is not None and job["kind"] == training.JOB_KIND else None
    return gr.update(value=path, visible=path is not None)


stop = stop_handler(training.stop_training, "No training job selected.")


@guarded
def listing(store, access, name, job_id=None, request: gr.Request = None):
    """The training jobs (the one shown kept, else the newest picked) and the trained reward models."""
    access.require(request, name, "jobs")
    choices = job_choices(store)
    keep = str(job_id) if job_id and str(job_id) in {v for _, v in choices} else (choices[0][1] if choices else None)
    return gr.update(choices=choices, value=keep), reward_models_table(training.trained_models())


@guarded
def push(store, access, name, model_dir, repo_id, private, request: gr.Request,
         oauth_token: Optional[gr.OAuthToken] = None):
    """Push a trained model of the table to a Hub model repo with its card (the signed-in user's token, else
    HF_TOKEN); a model trained by a job of this app states that job's aggregation."""
    access.require(request, name, "manage")
    jobs = training.training_jobs(store)
    aggregation = next((j.args.get("aggregation") for j in jobs.itertuples()
                        if str(j.args.get("output_dir")) == str(model_dir).strip()), None)
    return push_trained_model(model_dir, repo_id, bool(private), push_token(oauth_token), aggregation)


def build(store, shell: Shell):
    access = shell.access
    gr.Markdown("Train a reward model on this project's feedback. The run continues in the background; "
                "Stop keeps its last checkpoint (the CLI's `--resume` continues it).")
    device = gr.Markdown(elem_id="train-device")
    with gr.Row():
        source = gr.Radio(["human", "llm", "adjudicated"], value="llm", label="Feedback source")
        protocol = gr.Radio(["ratings", "rankings"], value="rankings", label="Protocol")
        model = gr.Textbox("smollm2-135m", label="Base model (hub name, path or alias)")
    with gr.Row():
        epochs = gr.Number(1, label="Epochs", minimum=0.1)
        batch_size = gr.Number(8, precision=0, minimum=1, label="Batch size")
        lr = gr.Number(1e-4, label="Learning rate")
        max_length = gr.Number(512, precision=0, minimum=16, label="Max length")
        lora_r = gr.Number(32, precision=0, minimum=1, label="LoRA r")
        full = gr.Checkbox(False, label="Full fine-tuning")
        every = gr.Checkbox(False, label="Humans: train on every annotation (default: one label per pair by majority)")
    with gr.Row():
        device_choice = gr.Dropdown(list(DEVICES), value="auto", label="Device", info=auto_note(),
                                    elem_id="train-device-choice")
        dtype = gr.Dropdown(list(DTYPES), value="auto", label="Precision",
                            info="bfloat16 / float16 need a GPU; the CPU trains in float32")
        load_in_8bit = gr.Checkbox(False, label="8-bit base weights (GPU, LoRA, bitsandbytes)")
    with gr.Row():
        start_btn = gr.Button("Start", variant="primary")
        stop_btn = gr.Button("Stop", variant="stop", interactive=False, elem_id="train-stop")
        refresh = gr.Button("Refresh", size="sm")
    message = gr.Markdown(elem_id="train-message")
    job = gr.Dropdown([], label="Training job", allow_custom_value=True, elem_id="train-job")
    status = gr.Markdown(elem_id="train-status")
    plot = gr.Plot(label="Loss and evaluation", visible=False, elem_id="train-curve")
    tail = gr.Textbox(label="Log", lines=8, max_lines=8, interactive=False, autoscroll=True, visible=False,
                      elem_id="train-log")
    with gr.Row():
        log_btn = gr.Button("Full log (train.log: console output, warnings)", size="sm", visible=False,
                            elem_id="train-full-log")
        log_file = gr.File(label="Full log", visible=False, elem_id="train-log-file")
    gr.Markdown("Accuracy is measured on held-out pairs; with a few dozen pairs its 95 % interval is wide, and the "
                "note says when a model cannot be told from chance. The shipped demo RMs are 96-step LoRA runs of "
                "a 135M model on about 90 LLM-judged items, evaluated on 9-17 held-out pairs: they are examples "
                "of the workflow, not evidence about the protocols.")
    models = gr.Dataframe(label="Trained reward models", interactive=False, wrap=True, elem_id="train-models",
                          column_widths=["13%", "7%", "9%", "5%", "6%", "7%", "6%", "8%", "17%", "5%", "8%", "9%"])
    with gr.Row():
        push_dir = gr.Textbox(label="Model folder (its model_dir in the table)", elem_id="train-hub-dir")
        push_repo = gr.Textbox(label="Hub model repo (OWNER/NAME)", elem_id="train-hub-repo")
        push_private = gr.Checkbox(True, label="Private repo")
        push_btn = gr.Button("Push to Hub", elem_id="train-hub-push")
    push_btn.click(bind(push, store, access), [shell.name, push_dir, push_repo, push_private], message,
                   api_name="train_push")

    start_btn.click(bind(start, store, access), [shell.name, shell.project, source, protocol, model, epochs,
                                                 batch_size, lr, max_length, lora_r, full, every, device_choice,
                                                 dtype, load_in_8bit], [message, job],
                    api_name="train_start")
    stop_btn.click(bind(stop, store, access), [shell.name, job], message, api_name="train_stop")
    viewer = bind(show, store, access)
    lister = bind(listing, store, access)
    shown = [status, plot, tail, device, stop_btn, log_btn]
    job.change(viewer, [shell.name, job], shown, api_name="train_show")
    refresh.click(lister, [shell.name, job], [job, models], api_name="train_list").then(
        viewer, [shell.name, job], shown, api_visibility="private", api_name="train_refresh")
    log_btn.click(bind(full_log, store, access), [shell.name, job], log_file, api_name="train_full_log")
    timer, seen = gr.Timer(3.0), gr.State()
    timer.tick(admin_only(bind(tick, store, access), len(shown) + 2), [shell.name, job, seen], [*shown, job, seen],
               api_visibility="private", api_name="train_tick", show_progress="hidden")
    shell.project.change(admin_only(lister, 2), [shell.name, job], [job, models], api_visibility="private",
                         api_name="train_on_project")
