"""The Best-of-n tab's view logic: the reward models to offer, how the Win-rates tab names a job's
evaluation, and a finished job's browser (each instruction's candidates by each RM's score). The job
itself (settings, start, stop, resume, its process) is :mod:`sparse_feedback.jobs.best_of_n`."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path

from sparse_feedback import formats
from sparse_feedback.jobs.best_of_n import (  # noqa: F401  the job's controls, as the tab calls them
    JOB_KIND, MAX_N, BestOfNSettings, describe_status, eval_dir, evaluated_rm, evaluations, job_dir, job_status,
    jobs_root, read_settings, resume_job, rm_label, start_job, stop_job, wait_job)
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


def _candidate_list(record: dict, other_choice: int | None) -> str:
    order = sorted(range(len(record["candidates"])), key=lambda j: -record["candidates"][j]["score"])
    texts = [c["response"] for c in record["candidates"]]
    items = []
    for j in order:
        c = record["candidates"][j]
        classes = ["chosen"] if j == record["chosen"] else []
        if other_choice is not None and j == other_choice and texts[j] != texts[record["chosen"]]:
            classes.append("other-choice")
        mark = " · chosen" if j == record["chosen"] else (" · the other RM's choice" if "other-choice" in classes
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
    verdict = ("<p class='bon-differ'>The reward models pick different candidates here.</p>" if differ
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
