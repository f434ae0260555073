"""Best-of-n from the app: a background job (generate, rerank with one or two RMs, evaluate) and its browser.

The job runs in its own process (``python -m sparse_feedback.ui.best_of_n JOB_DIR``) so the app stays
responsive and Stop can end it; it writes ``progress.json`` as it goes and records its end in the store's
jobs table. Everything it makes lies in ``JOB_DIR``: ``candidates.json`` (resumable), ``reference.json``
(the policy's greedy output unless a reference file was given), per RM ``best_of_n_<k>.json`` (AlpacaEval
format) with ``best_of_n_<k>.scores.json`` and, when a judge is set, ``best_of_n_<k>.eval/`` (what
``evaluate`` writes, so the Win-rates tab lists it), judged through ``judge_cache.db``.

Each step skips what a previous run of the same job finished, so :func:`resume_job` continues an
interrupted, stopped or failed job. A judge's API key reaches the job only through its environment.
"""

from __future__ import annotations

import html
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd

from sparse_feedback import formats
from sparse_feedback.errors import InputError, SettingsError, disk_error
from sparse_feedback.judge import redact
from sparse_feedback.settings import home
from sparse_feedback.store import StoreError
from sparse_feedback.ui.llm import public_url

JOB_KIND = "best_of_n"
MAX_N = 64
RESUMABLE = ("interrupted", "stopped", "failed")


@dataclass
class BestOfNSettings:
    """What a best-of-n job does; saved as ``settings.json`` in its directory."""

    policy: str = "smollm2-135m"
    n: int = 8
    reward_models: list[str] = field(default_factory=list)
    reference: str | None = None  # an AlpacaEval-format file; None = the policy's greedy output
    max_new_tokens: int = 128
    temperature: float = 0.8
    top_p: float = 0.95
    batch_size: int = 4
    seed: int = 0
    judge_model: str | None = None  # None: no evaluation
    judge_backend: str = "transformers"  # or "openai" (any OpenAI-compatible server at judge_base_url)
    judge_base_url: str | None = None
    judge_api_key_env: str = "OPENAI_API_KEY"  # the variable's name; its value lives only in the job's env
    calibrate: bool | None = None  # None: as the pipeline does, calibrate a transformers (small local) judge

    @property
    def calibrated(self) -> bool:
        return self.judge_backend == "transformers" if self.calibrate is None else self.calibrate

    def check(self) -> None:
        if not 1 <= self.n <= MAX_N:
            raise SettingsError(f"n must be between 1 and {MAX_N}")
        if not 1 <= len(self.reward_models) <= 2:
            raise SettingsError("choose one or two trained reward models")
        for rm in self.reward_models:
            if not (Path(rm) / "reward_config.json").exists():
                raise SettingsError(f"{rm} is not a trained reward-model directory (no reward_config.json)")
        if not self.policy.strip():
            raise SettingsError("name a policy model")
        if self.judge_backend not in ("transformers", "openai"):
            raise SettingsError("the judge backend is transformers or openai")
        if self.judge_base_url and urlsplit(self.judge_base_url).password:
            raise SettingsError("give the judge's API key in the key field, not in its URL")


def read_settings(directory: Path) -> BestOfNSettings:
    """A job's ``settings.json`` (a job from before a setting existed gets its default)."""
    return BestOfNSettings(**json.loads((directory / "settings.json").read_text("utf-8")))


def jobs_root() -> Path:
    return home() / "best_of_n"


def find_reward_models(root: Path | None = None, limit: int = 50) -> list[str]:
    """Trained reward-model directories under the data home (pipeline runs, ``train`` outputs)."""
    root = root or home()
    if not root.is_dir():
        return []
    found = sorted({str(p.parent) for p in root.glob("**/reward_config.json")
                    if "checkpoints" not in p.parts})
    return found[:limit]


def rm_label(rm_dir: str) -> str:
    """``ratings RM (rm_ratings)``: the protocol it was trained on, and its directory name."""
    try:
        protocol = json.loads((Path(rm_dir) / "reward_config.json").read_text("utf-8")).get("protocol", "?")
    except (OSError, json.JSONDecodeError):
        protocol = "?"
    return f"{protocol} RM ({Path(rm_dir).name})"


def eval_dir(directory: Path, k: int) -> Path:
    """Where a job's evaluation of its ``k``-th RM's choices goes (what ``evaluate`` writes)."""
    return Path(directory) / f"best_of_n_{k}.eval"


def run_label(root: Path, run: str) -> str:
    """How the Win-rates tab names an evaluated run: a best-of-n job's evaluation by its job and RM.

    >>> run_label(Path("/nowhere"), "runs/eval_a")
    'runs/eval_a'
    """
    folder = Path(root) / run
    try:
        settings = read_settings(folder.parent)
    except (OSError, ValueError, TypeError, json.JSONDecodeError):  # not a best-of-n job's folder
        return run
    for k, rm in enumerate(settings.reward_models, start=1):
        if eval_dir(folder.parent, k) == folder:
            return f"best-of-n {folder.parent.name} · {rm_label(rm)} — {run}"
    return run


# ------------------------------------------------------------------ starting and stopping

def _spawn(store, job_id: int, directory: Path, api_key: str | None) -> None:
    """Start the job's process on ``directory``; the API key goes into its environment and nowhere else."""
    env = {**os.environ, "SPARSE_FEEDBACK_DB": store.url}
    if api_key:
        env[read_settings(directory).judge_api_key_env] = api_key
    with open(directory / "log.txt", "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "sparse_feedback.ui.best_of_n", str(directory), str(job_id)],
                                   stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    store.attach_process(job_id, process.pid, str(directory))  # the job's process, not the app, is what Stop ends


def start_job(store, instructions: pd.DataFrame, settings: BestOfNSettings, root: Path | None = None,
              api_key: str | None = None) -> int:
    """Write the job's inputs, record it in the store, and start its process; returns the job id.

    ``api_key``: for an OpenAI-compatible judge; passed to the job's process in its environment only."""
    settings.check()
    if instructions.empty:
        raise SettingsError("no instructions to sample for")
    args = {**asdict(settings), "instructions": len(instructions)}
    if settings.judge_base_url:
        args["judge_base_url"] = public_url(settings.judge_base_url)
    job_id = store.start_job(JOB_KIND, args)
    try:  # a folder of that name from another store is never written into
        directory = formats.claim_dir((root or jobs_root()) / f"job-{job_id}", "best-of-n job")
    except InputError as err:
        store.finish_job(job_id, "failed", str(err))
        raise StoreError(str(err)) from None
    formats.write_table(instructions[["instruction", "input"]].reset_index(drop=True), directory / "instructions.json")
    formats.write_json(asdict(settings), directory / "settings.json")
    _spawn(store, job_id, directory, api_key)
    return job_id


def _reap(pid: int | None) -> None:
    """Collect our own child if it has ended (a stopped or failed job), so it no longer counts as alive."""
    try:
        if pid:
            os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not ours (another app run started it), or already collected
        pass


def resume_job(store, job_id: int, api_key: str | None = None) -> str:
    """Run an interrupted, stopped or failed job again on its directory; finished work is not redone.

    Generation continues from ``candidates.json``'s log of finished instructions, finished reranks and
    evaluations are skipped, and any judge answer is read from the job's cache."""
    directory = job_dir(store, job_id)
    job = store.job(job_id)
    _reap(job["pid"])
    if not store.reopen_job(job_id, RESUMABLE):
        status = store.job(job_id)["status"]
        raise StoreError(f"job {job_id} is {status}; only an interrupted, stopped or failed job can be resumed"
                         if status not in RESUMABLE else f"job {job_id}'s process is still ending; try again")
    try:
        _spawn(store, job_id, directory, api_key)
    except OSError as err:
        store.finish_job(job_id, "failed", f"could not start: {err}")
        raise StoreError(f"could not restart job {job_id}: {err}") from None
    return f"job {job_id} resumed"


def stop_job(store, job_id: int) -> str:
    """End a running job's process group; its finished samples stay (a new job with the same dir resumes)."""
    job = store.job(job_id)
    if job is None or job["kind"] != JOB_KIND:
        raise StoreError(f"no best-of-n job {job_id}")
    if job["status"] != "running":
        return f"job {job_id} is {job['status']}"
    try:
        os.killpg(job["pid"], signal.SIGTERM)
    except (ProcessLookupError, PermissionError, TypeError):
        pass
    store.finish_job(job_id, "stopped", "stopped from the app")
    return f"job {job_id} stopped"


def job_dir(store, job_id: int) -> Path:
    job = store.job(job_id)
    if job is None or job["kind"] != JOB_KIND or not job.get("log_path"):
        raise StoreError(f"no best-of-n job {job_id}")
    return Path(job["log_path"])


def job_status(store, job_id: int) -> dict:
    """``{status, message, done, total, stage}`` for the live progress line."""
    job = store.job(job_id)
    if job is None:
        raise StoreError(f"no job {job_id}")
    progress = {}
    path = Path(job.get("log_path") or "") / "progress.json"
    if path.is_file():
        try:
            progress = json.loads(path.read_text("utf-8"))
        except json.JSONDecodeError:  # caught mid-write; the next poll reads it
            progress = {}
    return {"status": job["status"], "message": job.get("message") or "", **progress}


def wait_job(store, job_id: int, timeout: float = 600, poll: float = 0.5) -> dict:
    """Block until the job is no longer running (for Python callers and tests); returns its last status."""
    deadline = time.monotonic() + timeout
    while (status := job_status(store, job_id))["status"] == "running":
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still running after {timeout:.0f} s: {describe_status(status)}")
        time.sleep(poll)
    return status


def describe_status(status: dict) -> str:
    """One line for the UI.

    >>> describe_status({"status": "running", "stage": "generate", "done": 3, "total": 8})
    'running · generate: 3/8'
    """
    line = status["status"]
    if status.get("stage"):
        line += f" · {status['stage']}: {status.get('done', 0)}/{status.get('total', 0)}"
    if status.get("message"):
        line += f" · {status['message']}"
    return line


# ------------------------------------------------------------------ the job's own process

def _progress_writer(directory: Path, stage: str):
    last = [0.0]

    def callback(done: int, total: int, desc: str) -> None:
        now = time.monotonic()
        if done < total and now - last[0] < 0.5:
            return
        last[0] = now
        formats.write_json({"stage": stage, "done": done, "total": total, "desc": desc}, directory / "progress.json")

    return callback


def _evaluate(directory: Path, settings: BestOfNSettings) -> None:
    """Both win-rates of each RM's best-of-n against the reference, into ``best_of_n_<k>.eval/``."""
    todo = [k for k in range(1, len(settings.reward_models) + 1)
            if not (eval_dir(directory, k) / "winrates.json").exists()]
    if not settings.judge_model or not todo:
        return
    from sparse_feedback.evaluate import evaluate, matched_outputs
    from sparse_feedback.evaluate.judging import EngineJudge
    from sparse_feedback.judge import judge_backend

    backend = judge_backend(settings.judge_model, settings.judge_backend, settings.judge_base_url,
                            settings.judge_api_key_env)
    reference = formats.read_model_outputs(directory / "reference.json")
    with EngineJudge(backend, directory / "judge_cache.db", calibrate=settings.calibrated) as judge:
        for k in todo:
            judge.callback = _progress_writer(directory, f"evaluate {rm_label(settings.reward_models[k - 1])}")
            pairs = matched_outputs(reference, formats.read_model_outputs(directory / f"best_of_n_{k}.json"))
            evaluate(pairs, judge, eval_dir(directory, k))


def _sample(directory: Path, settings: BestOfNSettings) -> None:
    """``candidates.json`` then ``reference.json``; each generation resumes from its log of finished instructions."""
    from sparse_feedback.generate import SamplingConfig, generate, make_backend

    instructions = formats.read_instructions(directory / "instructions.json")
    backend = make_backend("transformers", settings.policy)
    sampling = SamplingConfig(n=settings.n, max_new_tokens=settings.max_new_tokens, temperature=settings.temperature,
                              top_p=settings.top_p, seed=settings.seed, batch_size=settings.batch_size)
    generate(instructions, backend, sampling, directory / "candidates.json",
             callback=_progress_writer(directory, "generate"), model=settings.policy)
    if settings.reference:
        formats.write_table(formats.read_model_outputs(settings.reference), directory / "reference.json", "json")
    else:
        greedy = SamplingConfig(n=1, temperature=0.0, max_new_tokens=settings.max_new_tokens,
                                batch_size=settings.batch_size)
        records = generate(instructions, backend, greedy, directory / "reference_generation.json",
                           callback=_progress_writer(directory, "reference (greedy)"), model=settings.policy)
        formats.write_json([{"instruction": r["instruction"], "input": r["input"], "output": r["responses"][0],
                             "generator": f"{Path(settings.policy).name}-greedy"} for r in records],
                           directory / "reference.json")


def run_job(directory: Path) -> None:
    """Generate the candidates (and the greedy reference), rerank them with each reward model, then (with a
    judge) evaluate each RM's choices. A rerun skips every finished step."""
    from sparse_feedback.rerank import default_generator, rerank
    from sparse_feedback.reward import load_reward_model

    settings = read_settings(directory)
    if not (directory / "reference.json").exists():  # written after the candidates: both are complete
        _sample(directory, settings)
    candidates = formats.read_generation(directory / "candidates.json")
    for k, rm_dir in enumerate(settings.reward_models, start=1):
        if (directory / f"best_of_n_{k}.json").exists():  # written last: that RM's reranking is complete
            continue
        rm = load_reward_model(rm_dir)
        rerank(candidates, rm, directory / f"best_of_n_{k}.json", default_generator(candidates, Path(rm_dir).name),
               callback=_progress_writer(directory, f"rerank with {rm_label(rm_dir)}"))
    _evaluate(directory, settings)


def main(argv: list[str] | None = None) -> int:
    from sparse_feedback.store import Store

    directory, job_id = Path(argv[0]), int(argv[1])
    store = Store(os.environ.get("SPARSE_FEEDBACK_DB"))
    key = None
    try:
        key = os.environ.get(read_settings(directory).judge_api_key_env)
        run_job(directory)
    except Exception as err:  # the job row says why; the log has the traceback (neither shows the key)
        import traceback

        print(redact(traceback.format_exc(), [key]), file=sys.stderr)
        message = disk_error(err) or f"{type(err).__name__}: {err}"
        store.finish_job(job_id, "failed", redact(message, [key])[:500])
        return 1
    if store.job(job_id)["status"] == "running":
        message = f"{len(formats.read_generation(directory / 'candidates.json'))} instructions"
        if evaluations(directory):
            message += "; win-rates are in the Win-rates tab"
        store.finish_job(job_id, "done", message)
    return 0


# ------------------------------------------------------------------ browsing the results

@dataclass
class BestOfNResult:
    """A finished job: per instruction, the reference and each RM's scored candidates."""

    labels: list[str]
    reference: dict  # (instruction, input) -> output
    scored: list[list[dict]]  # per RM: the .scores.json records, in instruction order

    @property
    def instructions(self) -> list[str]:
        return [r["instruction"] for r in self.scored[0]]

    def choices(self, i: int) -> list[int]:
        return [s[i]["chosen"] for s in self.scored]

    def chosen_texts(self, i: int) -> list[str]:
        """Each RM's chosen response: candidates repeat (sampling), so two indices may hold one text."""
        return [s[i]["candidates"][s[i]["chosen"]]["response"] for s in self.scored]

    def differ(self, i: int) -> bool:
        """Whether the reward models choose different texts (not merely different copies of one text)."""
        return len(set(self.chosen_texts(i))) > 1

    def disagreements(self) -> list[int]:
        """Instructions where the reward models choose different texts."""
        return [i for i in range(len(self.scored[0])) if self.differ(i)]


def evaluations(directory: Path) -> list[tuple[str, dict]]:
    """Each evaluated RM's label and its ``winrates.json`` (both protocols' win-rates with 95% intervals)."""
    out = []
    for k, rm_dir in enumerate(read_settings(directory).reward_models, start=1):
        path = eval_dir(directory, k) / "winrates.json"
        if path.exists():
            out.append((rm_label(rm_dir), json.loads(path.read_text("utf-8"))))
    return out


def describe_evaluations(directory: Path) -> str:
    """Markdown: each RM's ratings and rankings win-rate against the reference, or '' if not evaluated."""
    from sparse_feedback.evaluate.cli import format_result

    found = evaluations(directory)
    if not found:
        return ""
    lines = [f"**{label}** vs the reference ({result['instructions']} instructions):\n"
             f"```\n{format_result(result)}\n```" for label, result in found]
    return "\n\n".join(lines) + "\n\nThese evaluations are now in the **Win-rates** tab."


def load_result(directory: Path) -> BestOfNResult:
    scored, labels = [], []
    for k, rm_dir in enumerate(read_settings(directory).reward_models, start=1):
        path = directory / f"best_of_n_{k}.scores.json"
        if not path.exists():
            raise StoreError("this job has not finished reranking yet")
        scored.append(json.loads(path.read_text("utf-8")))
        labels.append(rm_label(rm_dir))
    reference = {}
    if (directory / "reference.json").exists():
        ref = formats.read_model_outputs(directory / "reference.json")
        reference = {(r.instruction, r.input): r.output for r in ref.itertuples(index=False)}
    return BestOfNResult(labels, reference, scored)


def _candidate_list(record: dict, other_choice: int | None) -> str:
    order = sorted(range(len(record["candidates"])), key=lambda j: -record["candidates"][j]["score"])
    texts = [c["response"] for c in record["candidates"]]
    items = []
    for j in order:
        c = record["candidates"][j]
        classes = ["chosen"] if j == record["chosen"] else []
        if other_choice is not None and j == other_choice and texts[j] != texts[record["chosen"]]:
            classes.append("other-choice")
        mark = " ✅ chosen" if j == record["chosen"] else (" ◆ the other RM's choice" if "other-choice" in classes
                                                          else "")
        items.append(f'<li class="{" ".join(classes)}"><div class="score">#{j + 1} · score {c["score"]:.3f}{mark}'
                     f'</div><div class="text">{html.escape(c["response"])}</div></li>')
    return "<ol class='bon-candidates'>" + "".join(items) + "</ol>"


def render_instruction(result: BestOfNResult, i: int) -> str:
    """HTML: the instruction, the reference, and each RM's candidates sorted by its score, choices marked."""
    first = result.scored[0][i]
    choices, differ = result.choices(i), result.differ(i)
    reference = result.reference.get((first["instruction"], first["input"]))
    head = (f"<div class='bon-instruction'><b>Instruction</b><div class='text'>{html.escape(first['instruction'])}"
            f"</div>" + (f"<b>Input</b><div class='text'>{html.escape(first['input'])}</div>" if first["input"] else "")
            + "</div>")
    verdict = ("<p class='bon-differ'>⚠️ The reward models pick different candidates here.</p>" if differ
               else ("<p class='bon-agree'>The reward models pick the same candidate.</p>"
                     if len(choices) > 1 else ""))
    ref = (f"<div class='bon-column'><h4>Reference</h4><div class='text'>{html.escape(reference)}</div></div>"
           if reference is not None else "")
    columns = "".join(
        f"<div class='bon-column'><h4>{html.escape(label)}</h4>"
        f"{_candidate_list(s[i], choices[1 - k] if len(choices) == 2 else None)}</div>"
        for k, (label, s) in enumerate(zip(result.labels, result.scored)))
    return f"<div class='bon'>{head}{verdict}<div class='bon-row'>{ref}{columns}</div></div>"


BEST_OF_N_CSS = """
.bon-row{display:flex;gap:1rem;align-items:flex-start}.bon-column{flex:1;min-width:0}
.bon .text{white-space:pre-wrap;border:1px solid #ddd;border-radius:6px;padding:.4rem;margin:.2rem 0}
.bon-candidates li.chosen .text{border:2px solid #2e7d32;background:#e8f5e9}
.bon-candidates li.other-choice .text{border:2px dashed #ef6c00}
.bon-differ{color:#b45309;font-weight:600}.bon .score{font-size:.85em;color:#555}
"""


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
