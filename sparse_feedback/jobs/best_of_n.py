"""Best-of-n from the app: a background job (generate, rerank with one or two RMs, evaluate) on the pipeline's
stage functions (:mod:`sparse_feedback.pipeline.stages`), run by the one job runner (:mod:`.runner`).

The job runs in its own process (``python -m sparse_feedback.jobs.best_of_n JOB_DIR``) so the app stays
responsive and Stop can end it; it writes ``progress.json`` as it goes and records its end in the store's
jobs table. Everything it makes lies in ``JOB_DIR``: ``candidates.json`` (resumable), ``reference.json``
(the policy's greedy output unless a reference file was given), per RM ``best_of_n_<k>.json`` (AlpacaEval
format) with ``best_of_n_<k>.scores.json`` and, when a judge is set, ``best_of_n_<k>.eval/`` (what
``evaluate`` writes, so the Win-rates tab lists it), judged through ``judge_cache.db``.

Each step skips what a previous run of the same job finished, so :func:`resume_job` continues an
interrupted, stopped or failed job. A judge's API key reaches the job only through its environment.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd

from sparse_feedback import formats
from sparse_feedback.errors import InputError, SettingsError, disk_error, store_write_error
from sparse_feedback.jobs import runner
from sparse_feedback.jobs.runner import RESUMABLE
from sparse_feedback.judge import redact
from sparse_feedback.pipeline import stages
from sparse_feedback.pipeline.config import JudgeConfig, PolicyConfig
from sparse_feedback.settings import home
from sparse_feedback.store import StoreError
from sparse_feedback.store.jobs import public_url

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
    judge_model: str | None = None  # None: no evaluation
    judge_backend: str = "transformers"  # or "openai" (any OpenAI-compatible server at judge_base_url)
    judge_base_url: str | None = None
    judge_api_key_env: str = "OPENAI_API_KEY"  # the variable's name; its value lives only in the job's env
    calibrate: bool | None = None  # None: as the pipeline does, calibrate a transformers (small local) judge
    device: str = "auto"  # local models (policy, reward models, a local judge): auto, cuda or cpu

    def check(self) -> None:
        from sparse_feedback.device import resolve_device

        resolve_device(self.device)  # a DeviceError (a SettingsError) for cuda without a GPU
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


def evaluated_rm(folder: Path) -> str | None:
    """The label of the RM whose choices ``folder`` evaluates, when it is a job's ``best_of_n_<k>.eval``."""
    folder = Path(folder)
    try:
        settings = read_settings(folder.parent)
    except (OSError, ValueError, TypeError, json.JSONDecodeError):  # not a best-of-n job's folder
        return None
    for k, rm in enumerate(settings.reward_models, start=1):
        if eval_dir(folder.parent, k) == folder:  # a shipped job names its RMs relative to its folder
            found = Path(rm) if (Path(rm) / "reward_config.json").exists() else folder.parent / rm
            return rm_label(str(found))
    return None


# ------------------------------------------------------------------ starting and stopping

def _spawn(store, job_id: int, directory: Path, api_key: str | None) -> None:
    """Start the job's process on ``directory``; the API key goes into its environment and nowhere else."""
    env = {"SPARSE_FEEDBACK_DB": store.url}
    if api_key:
        env[read_settings(directory).judge_api_key_env] = api_key
    runner.spawn(store, job_id, [sys.executable, "-m", "sparse_feedback.jobs.best_of_n", str(directory), str(job_id)],
                 directory / "log.txt", env=env, log_path=str(directory),
                 on_exit=lambda code: None if code == 0 else ("failed", exit_message(directory / "log.txt", code)))


def exit_message(log: Path, code: int) -> str:
    """Why a job's process ended without recording it: its own last ``error:`` line, else the signal or exit
    status with where it was (``generate 3/8``) and the log's last error line (:func:`runner.ended`)."""
    try:
        lines = Path(log).read_text("utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    said = next((line[len("error: "):] for line in reversed(lines) if line.startswith("error: ")), None)
    return said[:500] if said else runner.ended(code, log, runner.where(runner.read_progress(Path(log).parent)))


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


def resume_job(store, job_id: int, api_key: str | None = None) -> str:
    """Run an interrupted, stopped or failed job again on its directory; finished work is not redone.

    Generation continues from ``candidates.json``'s log of finished instructions, finished reranks and
    evaluations are skipped, and any judge answer is read from the job's cache."""
    directory = job_dir(store, job_id)
    if not runner.reopen(store, job_id, RESUMABLE):
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
    return runner.stop_job(store, job_id, JOB_KIND, "best-of-n job", "stopped from the app")


def job_dir(store, job_id: int) -> Path:
    job = store.job(job_id)
    if job is None or job["kind"] != JOB_KIND or not job.get("log_path"):
        raise StoreError(f"no best-of-n job {job_id}")
    return Path(job["log_path"])


job_status, wait_job, describe_status = runner.status, runner.wait, runner.describe_status


# ------------------------------------------------------------------ the job's own process

def policy_config(settings: BestOfNSettings) -> PolicyConfig:
    """The job's policy in the pipeline's terms (a local transformers model)."""
    return PolicyConfig(model=settings.policy, n=settings.n, max_new_tokens=settings.max_new_tokens,
                        temperature=settings.temperature, top_p=settings.top_p, batch_size=settings.batch_size,
                        seed=settings.seed)


def judge_config(settings: BestOfNSettings) -> JudgeConfig:
    return JudgeConfig(model=settings.judge_model, backend=settings.judge_backend, base_url=settings.judge_base_url,
                       calibrate="auto" if settings.calibrate is None else settings.calibrate,
                       api_key_env=settings.judge_api_key_env)


def _evaluate(directory: Path, settings: BestOfNSettings) -> None:
    """Both win-rates of each RM's best-of-n against the reference, into ``best_of_n_<k>.eval/``."""
    todo = [k for k in range(1, len(settings.reward_models) + 1)
            if not (eval_dir(directory, k) / "winrates.json").exists()]
    if not settings.judge_model or not todo:
        return
    reference = formats.read_model_outputs(directory / "reference.json")
    with stages.open_judge(judge_config(settings), directory / "judge_cache.db", device=settings.device) as judge:
        for k in todo:
            judge.callback = runner.progress_writer(directory, f"evaluate {rm_label(settings.reward_models[k - 1])}")
            stages.evaluate(reference, formats.read_model_outputs(directory / f"best_of_n_{k}.json"), judge,
                            eval_dir(directory, k))


def _sample(directory: Path, settings: BestOfNSettings) -> None:
    """``candidates.json`` then ``reference.json``; each generation resumes from its log of finished instructions."""
    instructions = formats.read_instructions(directory / "instructions.json")
    policy = policy_config(settings)
    backend = stages.policy_backend(policy, settings.device)
    stages.sample(instructions, policy, settings.n, directory / "candidates.json",
                  callback=runner.progress_writer(directory, "generate"), backend=backend)
    if settings.reference:
        formats.write_table(formats.read_model_outputs(settings.reference), directory / "reference.json", "json")
    else:
        stages.greedy_reference(instructions, policy, directory / "reference_generation.json",
                                directory / "reference.json",
                                callback=runner.progress_writer(directory, "reference (greedy)"), backend=backend)


def run_job(directory: Path) -> None:
    """Generate the candidates (and the greedy reference), rerank them with each reward model, then (with a
    judge) evaluate each RM's choices. A rerun skips every finished step."""
    settings = read_settings(directory)
    if not (directory / "reference.json").exists():  # written after the candidates: both are complete
        _sample(directory, settings)
    candidates = formats.read_generation(directory / "candidates.json")
    for k, rm_dir in enumerate(settings.reward_models, start=1):
        if (directory / f"best_of_n_{k}.json").exists():  # written last: that RM's reranking is complete
            continue
        stages.rerank(candidates, rm_dir, directory / f"best_of_n_{k}.json", Path(rm_dir).name,
                      callback=runner.progress_writer(directory, f"rerank with {rm_label(rm_dir)}"),
                      device=settings.device)
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
        _record(store, job_id, "failed", redact(message, [key])[:500], directory)
        return 1
    if store.job(job_id)["status"] == "running":
        message = f"{len(formats.read_generation(directory / 'candidates.json'))} instructions"
        if evaluations(directory):
            message += "; win-rates are in the Win-rates tab"
        return 0 if _record(store, job_id, "done", message, directory) else 1
    return 0


def _record(store, job_id: int, status: str, message: str, directory: Path) -> bool:
    """Record how the job ended. A store that cannot be written (read-only, full) leaves the row as it was —
    never ``done`` — and the process says why in one line, which the app records once it can."""
    try:
        store.finish_job(job_id, status, message)
        return True
    except Exception as err:  # noqa: BLE001 - any store failure; the phrase says which, the SQL stays out
        reason = store_write_error(err) or "the store could not be written"
        print(f"error: {reason}, so job {job_id} could not be recorded as {status}; what it wrote is kept in "
              f"{directory}; Resume once the store can be written", file=sys.stderr)
        return False


# ------------------------------------------------------------------ what it made

def evaluations(directory: Path) -> list[tuple[str, dict]]:
    """Each evaluated RM's label and its ``winrates.json`` (both protocols' win-rates with 95% intervals)."""
    out = []
    for k, rm_dir in enumerate(read_settings(directory).reward_models, start=1):
        path = eval_dir(directory, k) / "winrates.json"
        if path.exists():
            out.append((rm_label(rm_dir), json.loads(path.read_text("utf-8"))))
    return out


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
