"""Best-of-n tab (admin): sample n responses per instruction with a policy, rerank them with one or two trained
reward models in a background job, evaluate each RM's choices with a judge (both win-rates, which then appear in
the Win-rates tab), and browse each instruction's candidates by each RM's score."""

import json
from importlib import resources
from pathlib import Path

import gradio as gr

from pages import Shell, admin_only, bind, guarded, stop_handler
from sparse_feedback import formats
from sparse_feedback.device import DEVICES, auto_note
from sparse_feedback.reward.hub import hub_model_dir
from sparse_feedback.store import StoreError
from sparse_feedback.ui import best_of_n as bon

DEMO = "demo instructions (built in)"


def _instructions(store, source: str, project: str | None, limit: int):
    if source == DEMO:
        path = Path(str(resources.files("sparse_feedback").joinpath("data", "demo_instructions.json")))
        frame = formats.read_instructions(path)
    else:
        if not project:
            raise StoreError("choose a project, or the built-in demo instructions")
        frame = store.items_frame(project)
    return frame.head(int(limit or len(frame)))


def _job_id(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise StoreError(f"no best-of-n job {value!r}") from None


def _job_choices(store) -> list[tuple[str, int]]:
    jobs = store.jobs(bon.JOB_KIND)
    return [(f"#{j.id} · {j.status} · {j.args.get('policy', '')} n={j.args.get('n', '')}", int(j.id))
            for j in jobs.itertuples()]


@guarded
def choices(store, access, name, request: gr.Request):
    """After sign-in: the best-of-n jobs (to browse, the newest result picked) for anyone who may view; the reward
    models found under the data home and the form that starts a job only for those who may start jobs (in open
    local mode, where nobody signs in, everything)."""
    starts = (access.open and access.local) or access.require(request, name, "view").can("jobs")
    found = _model_choices() if starts else []
    jobs = _job_choices(store)
    return (gr.update(choices=found, value=found[0][1] if found else None),
            gr.update(choices=found, value=found[1][1] if len(found) > 1 else None),
            gr.update(choices=jobs, value=bon.job_to_show(store.jobs(bon.JOB_KIND))), gr.update(visible=starts))


@guarded
def start(store, access, name, project, source, limit, policy, n, max_new_tokens, rm1, rm2, reference,
          judge_model, judge_base_url, judge_key, device="auto", request: gr.Request = None):
    access.require(request, name, "jobs", project if source != DEMO else None)
    base_url = (judge_base_url or "").strip() or None
    settings = bon.BestOfNSettings(policy=(policy or "").strip(), n=int(n), max_new_tokens=int(max_new_tokens),
                                   reward_models=[str(hub_model_dir(r.strip())) for r in (rm1, rm2)
                                                  if r and r.strip()],  # a Hub repo OWNER/NAME: downloaded
                                   reference=(reference or "").strip() or None,
                                   judge_model=(judge_model or "").strip() or None, judge_base_url=base_url,
                                   judge_backend="openai" if base_url else "transformers", device=device or "auto")
    job_id = bon.start_job(store, _instructions(store, source, project, limit), settings,
                           api_key=(judge_key or "").strip() or None)
    return f"Started job #{job_id}.", gr.update(choices=_job_choices(store), value=job_id)


@guarded
def resume(store, access, name, job_id, judge_key, request: gr.Request):
    access.require(request, name, "jobs")
    if not job_id:
        return "Choose a job.", gr.update()
    message = bon.resume_job(store, _job_id(job_id), api_key=(judge_key or "").strip() or None)
    return message, gr.update(choices=_job_choices(store), value=_job_id(job_id))


stop = stop_handler(bon.stop_job, "Choose a job.", _job_id)


@guarded
def status(store, access, name, job_id, seen=None, request: gr.Request = None):
    """Polled by a timer: the job's state and progress (stage, where a long batch is, elapsed, ETA), with Stop
    lit only while it runs and Resume only when it can resume, and the picker's labels again once the status
    has changed (``seen``: the one shown before). A no-op for anyone but an admin."""
    access.require(request, name, "view")
    state = {}
    if job_id:
        try:
            state = bon.job_status(store, _job_id(job_id))
            line = bon.describe_status(state)
        except StoreError as err:
            line = str(err)
    else:
        line = ""
    now = state.get("status")
    picker = gr.update(choices=_job_choices(store), value=_job_id(job_id)) if now and now != seen else gr.update()
    return (line, gr.update(interactive=now == "running"), gr.update(interactive=now in bon.RESUMABLE), picker, now)


@guarded
def browse(store, access, name, job_id, only_differ, request: gr.Request):
    """The instruction picker for a finished job (all, or only where the RMs disagree)."""
    access.require(request, name, "view")
    if not job_id:
        return gr.update(choices=[], value=None), "Choose a job."
    job = store.job(_job_id(job_id))
    if job is not None and job["kind"] == bon.JOB_KIND and job["status"] != "done":
        # Nothing of another job stays below this one: its results appear once it has finished.
        return gr.update(choices=[], value=None), f"Job #{job['id']} is {job['status']}: its results appear here " \
            "once it has finished."
    result = bon.load_result(bon.job_dir(store, _job_id(job_id)))
    keep = result.disagreements() if only_differ else range(len(result.instructions))
    choices = [(f"{i + 1}. {result.instructions[i][:80]}", i) for i in keep]
    summary = (f"{len(result.instructions)} instructions; the reward models disagree on "
               f"{len(result.disagreements())}." if len(result.labels) == 2 else
               f"{len(result.instructions)} instructions.")
    evaluated = bon.describe_evaluations(bon.job_dir(store, _job_id(job_id)))
    summary += f"\n\n{evaluated}" if evaluated else ""
    return gr.update(choices=choices, value=choices[0][1] if choices else None), summary


@guarded
def show(store, access, name, job_id, index, request: gr.Request):
    access.require(request, name, "view")
    if not job_id or index is None:
        return ""
    return bon.render_instruction(bon.load_result(bon.job_dir(store, _job_id(job_id))), _job_id(index))


def _model_choices() -> list[tuple[str, str]]:
    """Trained reward models named by protocol and run (the value stays the folder the job needs)."""
    return [(bon.rm_label(path), path) for path in bon.find_reward_models()]


@guarded
def reward_models(store, access, name, request: gr.Request):
    """The reward models on disk now (one trained in the Train tab shows without a restart)."""
    access.require(request, name, "jobs")
    found = _model_choices()
    return gr.update(choices=found), gr.update(choices=found)


def build(store, shell: Shell):
    access = shell.access
    gr.Markdown("Sample **n** responses per instruction from a policy, let one or two trained reward models pick "
                "the best, and compare. The job runs in the background and, with a judge, evaluates each RM's "
                "choices against the reference (both win-rates; they then appear in the Win-rates tab). Reward "
                "models come from `train ratings|rankings` or a pipeline run. An interrupted, stopped or failed "
                "job resumes where it was.")
    gr.HTML(f"<style>{bon.BEST_OF_N_CSS}</style>")
    # The form that starts a job: shown after sign-in to those who may start one (never to a viewer).
    with gr.Column(visible=False, elem_id="bon-start-form") as form:
        with gr.Row():
            source = gr.Radio([DEMO, "current project"], value=DEMO, label="Instructions")
            limit = gr.Number(8, precision=0, minimum=1, label="How many")
            policy = gr.Textbox("smollm2-135m", label="Policy model")
            device = gr.Dropdown(list(DEVICES), value="auto", label="Device (policy, reward models, a local judge)",
                                 info=auto_note(), elem_id="bon-device")
        with gr.Row():
            n = gr.Slider(1, bon.MAX_N, value=8, step=1, label="n (candidates per instruction)")
            max_new_tokens = gr.Slider(16, 512, value=128, step=16, label="max new tokens")
        with gr.Row():
            # Choices (paths under the data home) and jobs are filled after sign-in, for admins only.
            rm1 = gr.Dropdown([], value=None, allow_custom_value=True, label="Reward model 1",
                              info="a trained folder, or a Hub model repo OWNER/NAME (downloaded once)")
            rm2 = gr.Dropdown([], value=None, allow_custom_value=True, label="Reward model 2 (optional)")
            reference = gr.Textbox(label="Reference outputs file (optional; default: the policy's greedy output)")
        with gr.Row():  # the key is kept in this session's textbox only: the job gets it through its environment
            judge_model = gr.Textbox("smollm2-135m", label="Judge model (empty: no evaluation)")
            judge_base_url = gr.Textbox(label="Judge base URL (empty: run the judge model locally, calibrated)")
            judge_key = gr.Textbox(label="Judge API key (not stored)", type="password")
        with gr.Row():
            start_btn = gr.Button("Start", variant="primary")
            stop_btn = gr.Button("Stop", variant="stop", interactive=False, elem_id="bon-stop")
            resume_btn = gr.Button("Resume", interactive=False, elem_id="bon-resume")
    # Custom values reach the handlers, so the access check (not the dropdown) answers a forged job id.
    job = gr.Dropdown([], label="Job", allow_custom_value=True)
    message = gr.Markdown(elem_id="bon-message")
    progress = gr.Markdown(elem_id="bon-progress")
    timer = gr.Timer(2.0)
    with gr.Row():
        only_differ = gr.Checkbox(label="Only where the two RMs pick differently")
        load_btn = gr.Button("Browse results", size="sm")
    summary = gr.Markdown(elem_id="bon-summary")
    instruction = gr.Dropdown([], label="Instruction", allow_custom_value=True, elem_id="bon-instruction")
    view = gr.HTML(elem_id="bon-view")

    shell.after_sign_in.append(("best_of_n_choices", admin_only(bind(choices, store, access), 4), [shell.name],
                                [rm1, rm2, job, form]))
    start_btn.click(bind(start, store, access),
                    [shell.name, shell.project, source, limit, policy, n, max_new_tokens, rm1, rm2, reference,
                     judge_model, judge_base_url, judge_key, device], [message, job], api_name="best_of_n_start")
    stop_btn.click(bind(stop, store, access), [shell.name, job], message, api_name="best_of_n_stop")
    resume_btn.click(bind(resume, store, access), [shell.name, job, judge_key], [message, job],
                     api_name="best_of_n_resume")
    seen = gr.State()
    watched = [progress, stop_btn, resume_btn, job, seen]
    timer.tick(admin_only(bind(status, store, access), len(watched)), [shell.name, job, seen], watched,
               api_visibility="private", api_name="best_of_n_status", show_progress="hidden")
    loader = bind(browse, store, access)
    load_btn.click(loader, [shell.name, job, only_differ], [instruction, summary], api_name="best_of_n_browse")
    # A job picked (or opened after sign-in) shows its results at once; one still running shows none (not the last).
    job.change(admin_only(loader, 2), [shell.name, job, only_differ], [instruction, summary],
               api_visibility="private", api_name="best_of_n_on_job")
    only_differ.change(loader, [shell.name, job, only_differ], [instruction, summary], api_visibility="private",
                       api_name="best_of_n_filter")
    gr.on([rm1.focus, rm2.focus], admin_only(bind(reward_models, store, access), 2), [shell.name], [rm1, rm2],
          api_visibility="private", api_name="best_of_n_models", show_progress="hidden")
    instruction.change(bind(show, store, access), [shell.name, job, instruction], view, api_name="best_of_n_show")
