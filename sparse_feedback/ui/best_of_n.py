"""Best-of-n from the app: a background job (generate + rerank with one or two RMs) and its browser.

The job runs in its own process (``python -m sparse_feedback.ui.best_of_n JOB_DIR``) so the app stays
responsive and Stop can end it; it writes ``progress.json`` as it goes and records its end in the store's
jobs table. Everything it makes lies in ``JOB_DIR``: ``candidates.json`` (resumable), ``reference.json``
(the policy's greedy output unless a reference file was given), and per RM ``best_of_n_<k>.json``
(AlpacaEval format, what the win-rates take) with ``best_of_n_<k>.scores.json``.
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

import pandas as pd

from sparse_feedback import formats
from sparse_feedback.settings import home
from sparse_feedback.store import StoreError

JOB_KIND = "best_of_n"
MAX_N = 64


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

    def check(self) -> None:
        if not 1 <= self.n <= MAX_N:
            raise StoreError(f"n must be between 1 and {MAX_N}")
        if not 1 <= len(self.reward_models) <= 2:
            raise StoreError("choose one or two trained reward models")
        for rm in self.reward_models:
            if not (Path(rm) / "reward_config.json").exists():
                raise StoreError(f"{rm} is not a trained reward-model directory (no reward_config.json)")
        if not self.policy.strip():
            raise StoreError("name a policy model")


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


# ------------------------------------------------------------------ starting and stopping

def start_job(store, instructions: pd.DataFrame, settings: BestOfNSettings, root: Path | None = None) -> int:
    """Write the job's inputs, record it in the store, and start its process; returns the job id."""
    settings.check()
    if instructions.empty:
        raise StoreError("no instructions to sample for")
    job_id = store.start_job(JOB_KIND, {**asdict(settings), "instructions": len(instructions)})
    directory = (root or jobs_root()) / f"job-{job_id}"
    directory.mkdir(parents=True, exist_ok=True)
    formats.write_table(instructions[["instruction", "input"]].reset_index(drop=True), directory / "instructions.json")
    formats.write_json(asdict(settings), directory / "settings.json")
    log = open(directory / "log.txt", "ab")
    env = {**os.environ, "SPARSE_FEEDBACK_DB": store.url}
    process = subprocess.Popen([sys.executable, "-m", "sparse_feedback.ui.best_of_n", str(directory), str(job_id)],
                               stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    log.close()
    from sqlalchemy import update

    from sparse_feedback.store.schema import jobs

    with store.db.write() as conn:  # the job's process, not the app, is what Stop must end
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(pid=process.pid, log_path=str(directory)))
    return job_id


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


def run_job(directory: Path) -> None:
    """Generate the candidates (and the greedy reference), then rerank them with each reward model."""
    from sparse_feedback.generate import SamplingConfig, generate, make_backend
    from sparse_feedback.rerank import default_generator, rerank
    from sparse_feedback.reward import load_reward_model

    settings = BestOfNSettings(**json.loads((directory / "settings.json").read_text("utf-8")))
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
    candidates = formats.read_generation(directory / "candidates.json")
    for k, rm_dir in enumerate(settings.reward_models, start=1):
        rm = load_reward_model(rm_dir)
        rerank(candidates, rm, directory / f"best_of_n_{k}.json", default_generator(candidates, Path(rm_dir).name),
               callback=_progress_writer(directory, f"rerank with {rm_label(rm_dir)}"))


def main(argv: list[str] | None = None) -> int:
    from sparse_feedback.store import Store

    directory, job_id = Path(argv[0]), int(argv[1])
    store = Store(os.environ.get("SPARSE_FEEDBACK_DB"))
    try:
        run_job(directory)
    except Exception as err:  # the job row says why; the log has the traceback
        import traceback

        traceback.print_exc()
        store.finish_job(job_id, "failed", f"{type(err).__name__}: {err}"[:500])
        return 1
    if store.job(job_id)["status"] == "running":
        store.finish_job(job_id, "done", f"{len(formats.read_generation(directory / 'candidates.json'))} instructions")
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

    def disagreements(self) -> list[int]:
        """Instructions where the reward models choose different candidates."""
        return [i for i in range(len(self.scored[0])) if len(set(self.choices(i))) > 1]


def load_result(directory: Path) -> BestOfNResult:
    settings = json.loads((directory / "settings.json").read_text("utf-8"))
    scored, labels = [], []
    for k, rm_dir in enumerate(settings["reward_models"], start=1):
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
    items = []
    for j in order:
        c = record["candidates"][j]
        classes = ["chosen"] if j == record["chosen"] else []
        if other_choice is not None and j == other_choice and j != record["chosen"]:
            classes.append("other-choice")
        mark = " ✅ chosen" if j == record["chosen"] else (" ◆ the other RM's choice" if "other-choice" in classes
                                                          else "")
        items.append(f'<li class="{" ".join(classes)}"><div class="score">#{j + 1} · score {c["score"]:.3f}{mark}'
                     f'</div><div class="text">{html.escape(c["response"])}</div></li>')
    return "<ol class='bon-candidates'>" + "".join(items) + "</ol>"


def render_instruction(result: BestOfNResult, i: int) -> str:
    """HTML: the instruction, the reference, and each RM's candidates sorted by its score, choices marked."""
    first = result.scored[0][i]
    choices = result.choices(i)
    differ = len(set(choices)) > 1
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
