"""The Best-of-n tab's view logic: the reward models to offer, how the Win-rates tab names a job's
evaluation, and a finished job's browser (each instruction's candidates by each RM's score). The job
itself (settings, start, stop, resume, its process) is :mod:`sparse_feedback.jobs.best_of_n`."""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from pathlib import Path

from sparse_feedback import formats
from sparse_feedback.jobs.best_of_n import (  # noqa: F401  the job's controls, as the tab calls them
    JOB_KIND, MAX_N, RESUMABLE, BestOfNSettings, describe_status, eval_dir, evaluated_rm, evaluations, job_dir,
    job_status, jobs_root, read_settings, resume_job, rm_label, start_job, stop_job, wait_job)
from sparse_feedback.settings import home
from sparse_feedback.store import StoreError


def find_reward_models(root: Path | None = None, limit: int = 50) -> list[str]:
    """Trained reward-model directories under the data home (pipeline runs, ``train`` outputs)."""
    root = root or home()
    if not root.is_dir():
        return []
    found = sorted({str(p.parent) for p in root.glob("**/reward_config.json")
                    if "checkpoints" not in p.parts})
    return found[:limit]


def job_to_show(jobs) -> int | None:
    """The job the picker opens on (a reload included): the newest running one, else the newest finished one.

    >>> import pandas as pd
    >>> job_to_show(pd.DataFrame({"id": [5, 4, 3], "status": ["failed", "running", "done"]}))
    4
    """
    for wanted in ("running", "done"):
        ids = sorted((int(j.id) for j in jobs.itertuples() if j.status == wanted), reverse=True)
        if ids:
            return ids[0]
    return None


def run_label(root: Path, run: str) -> str:
    """How the Win-rates tab names an evaluated run: a best-of-n job's evaluation by its job and RM.

    >>> run_label(Path("/nowhere"), "runs/eval_a")
    'runs/eval_a'
    """
    folder = Path(root) / run
    rm = evaluated_rm(folder)
    return f"best-of-n {folder.parent.name} · {rm} — {run}" if rm else run


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


def describe_evaluations(directory: Path) -> str:
    """Markdown: each RM's ratings and rankings win-rate against the reference, or '' if not evaluated."""
    from sparse_feedback.evaluate.summary import format_result

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


def tied_for_first(record: dict) -> list[int]:
    """Candidates sharing the top score (copies of one text score alike): the chosen one is only the first.

    >>> tied_for_first({"candidates": [{"score": 1.0}, {"score": 0.2}, {"score": 1.0}]})
    [0, 2]
    """
    scores = [c["score"] for c in record["candidates"]]
    return [j for j, s in enumerate(scores) if math.isclose(s, max(scores), rel_tol=1e-9, abs_tol=1e-6)]


def _candidate_list(record: dict, other_choice: int | None) -> str:
    order = sorted(range(len(record["candidates"])), key=lambda j: -record["candidates"][j]["score"])
    texts = [c["response"] for c in record["candidates"]]
    tied = tied_for_first(record)
    tied = tied if len(tied) > 1 else []
    items = []
    for j in order:
        c = record["candidates"][j]
        classes = ["chosen"] if j == record["chosen"] else ["tied"] if j in tied else []
        if other_choice is not None and j == other_choice and texts[j] != texts[record["chosen"]]:
            classes.append("other-choice")
        marks = [m for m, on in ((" · chosen", j == record["chosen"]), (" · tie for first", j in tied),
                                 (" · the other RM's choice", "other-choice" in classes)) if on]
        items.append(f'<li class="{" ".join(classes)}"><div class="score">#{j + 1} · score {c["score"]:.3f}'
                     f'{"".join(marks)}</div><div class="text">{html.escape(c["response"])}</div></li>')
    return "<ol class='bon-candidates'>" + "".join(items) + "</ol>"


def verdict(result: BestOfNResult, i: int) -> str:
    """One sentence on the reward models' picks: the same candidate, different texts, or a tie (different
    candidates holding one text: sampling repeated it, and a model scores the copies alike).

    >>> pick = lambda j: {"chosen": j, "candidates": [{"response": "hi"}, {"response": "hi"}]}
    >>> verdict(BestOfNResult(["a", "b"], {}, [[pick(0)], [pick(1)]]), 0)
    'Tie: the reward models pick #1 and #2, copies of one text (sampling repeated it), so they agree on the answer.'
    >>> verdict(BestOfNResult(["a", "b"], {}, [[pick(1)], [pick(1)]]), 0)
    'The reward models pick the same candidate (#2).'
    """
    choices = result.choices(i)
    if len(choices) < 2:
        return ""
    if result.differ(i):
        return "The reward models pick different candidates here."
    picked = sorted(set(choices))
    if len(picked) == 1:
        return f"The reward models pick the same candidate (#{picked[0] + 1})."
    numbers = " and ".join(f"#{j + 1}" for j in picked)
    return (f"Tie: the reward models pick {numbers}, copies of one text (sampling repeated it), so they agree on "
            "the answer.")


def render_instruction(result: BestOfNResult, i: int) -> str:
    """HTML: the instruction, the reference, and each RM's candidates sorted by its score, choices and ties
    for first marked."""
    first = result.scored[0][i]
    choices = result.choices(i)
    reference = result.reference.get((first["instruction"], first["input"]))
    head = (f"<div class='bon-instruction'><b>Instruction</b><div class='text'>{html.escape(first['instruction'])}"
            f"</div>" + (f"<b>Input</b><div class='text'>{html.escape(first['input'])}</div>" if first["input"] else "")
            + "</div>")
    said = verdict(result, i)
    kind = "bon-differ" if result.differ(i) else "bon-tie" if said.startswith("Tie") else "bon-agree"
    said = f"<p class='{kind}'>{html.escape(said)}</p>" if said else ""
    ref = (f"<div class='bon-column'><h4>Reference</h4><div class='text'>{html.escape(reference)}</div></div>"
           if reference is not None else "")
    columns = "".join(
        f"<div class='bon-column'><h4>{html.escape(label)}</h4>"
        f"{_candidate_list(s[i], choices[1 - k] if len(choices) == 2 else None)}</div>"
        for k, (label, s) in enumerate(zip(result.labels, result.scored)))
    return f"<div class='bon'>{head}{said}<div class='bon-row'>{ref}{columns}</div></div>"


BEST_OF_N_CSS = """
.bon-row{display:flex;gap:1rem;align-items:flex-start}.bon-column{flex:1;min-width:0}
.bon .text{white-space:pre-wrap;border:1px solid #ddd;border-radius:6px;padding:.4rem;margin:.2rem 0}
.bon-candidates li.chosen .text{border:2px solid #2e7d32;background:#e8f5e9}
.bon-candidates li.tied .text{border:2px dashed #2e7d32}
.bon-candidates li.other-choice .text{border:2px dashed #ef6c00}
.bon-differ{color:#b45309;font-weight:600}.bon-tie{color:#2e7d32;font-weight:600}.bon .score{font-size:.85em;color:#555}
"""
