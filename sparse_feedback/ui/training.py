"""The Train tab's view of one training job: its status line, its Log box (the project's own progress lines,
never the console's bars and library warnings, which stay in the job's ``train.log``), and how it ended."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from sparse_feedback.jobs import runner, training

ENDINGS = {"stopped": "stopped", "failed": "failed", "interrupted": "interrupted (the app restarted)",
           "done": "done"}


def total_steps(output_dir) -> int | None:
    """The run's step total, from its progress record (written once the model and data are loaded)."""
    return runner.read_progress(output_dir).get("total") or None


def log_box(job: dict) -> str:
    """What the Log box shows: one line per logged step or evaluation, then how the job ended (the real
    reason: a signal, an exit status with the last error line, or a stop) or, before the first step, that the
    model and data are loading."""
    out = job["args"].get("output_dir")
    lines = training.progress_lines(out, total_steps(out), job["args"].get("protocol") or "rankings")
    if job["status"] == "running":
        return lines or f"started; loading the model and the data (no step yet) · {training.reached(out)}"
    end = f"{ENDINGS.get(job['status'], job['status'])}: {job.get('message') or ''}".rstrip(": ")
    if job["status"] == "stopped":
        end = f"stopped at {training.reached(out)}; Resume (the CLI's --resume) continues from the checkpoint"
    return f"{lines}\n{end}" if lines else end


def full_log(job: dict) -> str | None:
    """A copy of the job's whole console output (``train.log``) to download, or None when it has none."""
    out = job["args"].get("output_dir")
    path = Path(out or "") / training.STDOUT_FILE
    if not out or not path.is_file():
        return None
    target = Path(tempfile.mkdtemp(prefix="sf-train-log-")) / f"train-job-{job['id']}.log"
    shutil.copyfile(path, target)
    return str(target)
