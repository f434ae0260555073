"""The Best-of-n demo shipped in ``assets/demo/best_of_n/`` (made by ``make_best_of_n_demo.py`` with the pipeline):
installed under the data home on first start, so the Best-of-n tab shows a finished job and offers two RMs at once.

Its two reward models become ``reward_models/demo-{ratings,rankings}-rm`` (where ``find_reward_models`` and the
Train tab look) and its job ``best_of_n/job-<id>/``, recorded as a ``done`` job. Each is copied into a temporary
folder and renamed into place, and the job's row is written in the same transaction as its rename, so an
interrupted or failed copy leaves nothing half-installed.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

from sparse_feedback import formats
from sparse_feedback.reward.runs import runs_dir
from sparse_feedback.jobs.best_of_n import JOB_KIND, jobs_root, read_settings

# Shipped folder (``../<name>`` in the shipped settings.json) → the name it is installed under.
DEMO_RMS = {"rm_ratings": "demo-ratings-rm", "rm_rankings": "demo-rankings-rm"}
log = logging.getLogger(__name__)


def _staging(parent: Path, source: Path) -> Path:
    """A copy of ``source`` in a fresh hidden folder under ``parent`` (the same file system as the target)."""
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".demo-", dir=parent))
    shutil.copytree(source, staging, dirs_exist_ok=True)
    return staging


def _move(staging: Path, target: Path) -> str:
    staging.rename(target)  # fails rather than merge when the target exists
    return str(target)


def install_reward_model(source: Path, target: Path) -> Path:
    """Copy a shipped RM to ``target`` unless it is there already (an earlier start installed it)."""
    if (target / "reward_config.json").exists():
        return target
    staging = _staging(target.parent, source)
    try:
        _move(staging, target)
    except OSError:
        if not (target / "reward_config.json").exists():  # not another app process winning the same race
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def demo_message(policy: str, count: int) -> str:
    """The job row's message: where its results came from.

    >>> demo_message("smollm2-135m", 12)
    'the shipped demo (a pipeline run with smollm2-135m): 12 instructions; win-rates are in the Win-rates tab'
    """
    return f"the shipped demo (a pipeline run with {policy}): {count} instructions; win-rates are in the Win-rates tab"


def install_best_of_n_demo(store, directory, rm_root: Path | None = None, job_root: Path | None = None) -> int | None:
    """Install the shipped demo when the store has no best-of-n job yet; returns the new job's id, else None."""
    directory = Path(directory)
    if not (directory / "job" / "settings.json").exists() or not store.jobs(JOB_KIND).empty:
        return None
    rm_root, job_root = rm_root or runs_dir(), job_root or jobs_root()
    settings = read_settings(directory / "job")
    settings.reward_models = [str(install_reward_model(directory / Path(rm).name,
                                                       rm_root / DEMO_RMS[Path(rm).name]).resolve())
                              for rm in settings.reward_models]
    staging = _staging(job_root, directory / "job")
    try:
        formats.write_json(asdict(settings), staging / "settings.json")
        count = len(formats.read_instructions(staging / "instructions.json"))
        return store.record_finished_job(JOB_KIND, {**asdict(settings), "instructions": count},
                                         demo_message(settings.policy, count),
                                         lambda job_id: _move(staging, job_root / f"job-{job_id}"), only_first=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def ensure_best_of_n_demo(store, directory) -> int | None:
    """:func:`install_best_of_n_demo` for the app's start: a demo that cannot be installed is logged, not fatal."""
    try:
        return install_best_of_n_demo(store, directory)
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as err:
        log.warning("the Best-of-n demo was not installed: %s", err)
        return None
