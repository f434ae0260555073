"""A training run's directory, read back: its JSON-lines log, console tail, results, and every finished
reward model under the runs directory. Free of torch, so the app reads runs cheaply."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pandas as pd

from sparse_feedback.settings import home

LOG_FILE, RESULTS_FILE, STDOUT_FILE = "log.jsonl", "eval_results.json", "train.log"
# Set in a training process whose parent watches how it ends (the `train` command's own, or the app's job runner)
WATCHED = "SPARSE_FEEDBACK_TRAIN_WATCHED"
# The environment of such a process. A fixed mmap threshold makes glibc hand each pass's freed activations back to
# the system instead of keeping them in its heap: the peak RSS of a pass drops by about a quarter (measured,
# SmolLM2-135M on the CPU: 2.19 -> 1.58 MB per token).
TRAINING_ENV = {WATCHED: "1", "MALLOC_MMAP_THRESHOLD_": "131072"}
MODEL_KIND = "reward model"  # the kind of folder a training run writes (see formats.claim_dir)


def read_log(output_dir) -> list[dict]:
    """The JSON lines a run has logged so far (step, loss, lr, eval metrics); a half-written last line is skipped."""
    path = Path(output_dir) / LOG_FILE
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return rows


def step_label(output_dir) -> str | None:
    """``"step N/T"``: the steps a run had done out of those planned, from its ``progress.json`` (the `train`
    command rewrites it at the start and after every step) and its log (a run stopped between a step's log line
    and its progress record has done the logged step); None for a run that recorded nothing.

    >>> import tempfile; from sparse_feedback.progress import progress_file
    >>> d = tempfile.mkdtemp(); progress_file(d, "train", every=0)(3, 40, "train"); step_label(d)
    'step 3/40'
    """
    from sparse_feedback.progress import PROGRESS_FILE

    logged = [r["step"] for r in read_log(output_dir) if "loss" in r]
    done, total = (logged[-1] if logged else None), None
    try:
        record = json.loads((Path(output_dir) / PROGRESS_FILE).read_text())
    except (OSError, ValueError):
        record = None
    if isinstance(record, dict) and record.get("total"):
        done, total = max(int(record.get("done") or 0), done or 0), int(record["total"])
    if done is None:
        return None
    return f"step {done}/{total}" if total else f"step {done}"


_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
# Library chatter a person watching the run does not need: warnings, their source lines, weight-load reports.
_NOISE = re.compile(r"(?i)warning|warn\(|^\s*warnings\.|load report|^\s*(missing|unexpected)[ _]keys|"
                    r"^[-=+|\s]*$|^\s*\|?\s*\S+\s*\|\s*(missing|unexpected|mismatch)")


def log_tail(output_dir, lines: int = 20) -> str:
    """The last lines of the run's console output: progress bars collapsed to their latest state, terminal colour
    codes, warnings and weight-load reports left out."""
    path = Path(output_dir) / STDOUT_FILE
    if not path.exists():
        return ""
    return clean_log(path.read_text(errors="replace")[-20000:], lines)


def clean_log(text: str, lines: int = 20) -> str:
    r"""The last ``lines`` lines of console output a person reads.

    >>> clean_log("\x1b[32mstep 1\x1b[0m\nUserWarning: x\nepoch 10%\repoch 20%\n")
    'step 1\nepoch 20%'
    >>> clean_log("train 50%\rtrain 100%\r\n")
    'train 100%'
    """
    kept = [_ANSI.sub("", ([p for p in part.split("\r") if p.strip()] or [""])[-1]).rstrip() for part in text.split("\n")]
    return "\n".join([line for line in kept if line and not _NOISE.search(line)][-lines:])


RATE_UNIT = {"rankings": "pairs/s", "ratings": "ratings/s"}


def progress_lines(output_dir, total: int | None = None, protocol: str = "rankings", lines: int = 20) -> str:
    r"""The run's own progress, one line per logged step (step/total, loss, pairs/s, elapsed, ETA) or evaluation,
    read from ``log.jsonl``: what the app's Log box shows (the console output, with its bars and library
    warnings, stays in ``train.log``). ``total``: the run's steps (its progress record has them).

    >>> import json, tempfile; d = Path(tempfile.mkdtemp())
    >>> _ = (d / LOG_FILE).write_text(json.dumps({"step": 1, "loss": 0.69, "elapsed_s": 2, "examples_per_s": 4}) + "\n"
    ...                           + json.dumps({"step": 4, "eval_accuracy": 0.75, "eval_loss": 0.6}) + "\n")
    >>> print(progress_lines(d, total=4))
    step 1/4 · loss 0.6900 · 4.00 pairs/s · elapsed 0:02 · ETA 0:06
    step 4/4 · eval: accuracy 0.7500, loss 0.6000
    """
    from sparse_feedback.progress import clock

    out, base, last_elapsed, last_prev = [], 0, None, 0
    for row in read_log(output_dir):
        step = row.get("step", 0)
        of = f"step {step}/{total}" if total else f"step {step}"
        if "loss" not in row:
            metrics = {k.removeprefix("eval_"): v for k, v in row.items() if k.startswith("eval_")
                       and isinstance(v, (int, float))}
            shown = ", ".join(f"{k} {v:.4f}" for k, v in list(metrics.items())[:4])
            out.append(f"{of} · {'final ' if row.get('final') else ''}eval: {shown}")
            continue
        elapsed = float(row.get("elapsed_s") or 0)
        if last_elapsed is not None and elapsed < last_elapsed:  # a resumed run's clock starts again
            base = last_prev
        last_elapsed, last_prev = elapsed, step
        line = f"{of} · loss {row['loss']:.4f}"
        if row.get("examples_per_s") is not None:
            line += f" · {row['examples_per_s']:.2f} {RATE_UNIT.get(protocol, 'examples/s')}"
        line += f" · elapsed {clock(elapsed)}"
        if total and step > base and step < total:
            line += f" · ETA {clock(elapsed / (step - base) * (total - step))}"
        out.append(line)
    return "\n".join(out[-lines:])


def runs_dir() -> Path:
    return home() / "reward_models"


def new_run_dir(*parts: str) -> Path:
    """A fresh directory name under the runs directory, e.g. ``demo-human-rankings-20240101-120000``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return runs_dir() / "-".join(re.sub(r"[^A-Za-z0-9_.]+", "_", p) for p in (*parts, stamp) if p)


def training_command(protocol: str, train_file, output_dir, model: str, **options) -> list[str]:
    """The CLI call for a run; ``options`` are config fields (``lora_r=8`` → ``--lora-r 8``; True → a flag).

    >>> training_command("rankings", "t.csv", "out", "smollm2-135m", epochs=2, full=True, eval=None)[3:]
    ['train', 'rankings', '--train', 't.csv', '--output-dir', 'out', '--model', 'smollm2-135m', '--epochs', '2', '--full']
    """
    cmd = [sys.executable, "-m", "sparse_feedback", "train", protocol, "--train", str(train_file),
           "--output-dir", str(output_dir), "--model", model]
    for key, value in options.items():
        if value is None or value is False:
            continue
        cmd.append("--" + key.replace("_", "-"))
        if value is not True:
            cmd.append(str(value))
    return cmd


def trained_models(root=None) -> pd.DataFrame:
    """Every finished reward model under ``root`` (default: the runs directory) with its headline metrics."""
    rows = []
    for results_path in sorted(Path(root or runs_dir()).glob(f"*/{RESULTS_FILE}")):
        r = json.loads(results_path.read_text())
        ev, cross = r.get("eval") or {}, next(iter((r.get("cross_protocol") or {}).values()), {})
        pairs = held_out_pairs(r)
        rows.append({"model_dir": str(results_path.parent), "protocol": r.get("protocol"), "base": r.get("model"),
                     "steps": r.get("step"), "n_train": r.get("n_train"), "accuracy": pairs.get("accuracy"),
                     "held_out_pairs": pairs.get("n_pairs"), **_accuracy_note(pairs, r.get("step")),
                     "mse": ev.get("mse"), "spearman": ev.get("spearman"),
                     "cross_accuracy": cross.get("accuracy", (cross.get("implied_pairs") or {}).get("accuracy"))})
    columns = ["model_dir", "protocol", "base", "steps", "n_train", "accuracy", "held_out_pairs", "accuracy_95ci",
               "note", "mse", "spearman", "cross_accuracy"]
    return pd.DataFrame(rows, columns=columns)


def held_out_pairs(results: dict) -> dict:
    """The held-out pairwise accuracy of a run's results: a rankings RM's own pairs, a ratings RM's implied pairs.

    >>> held_out_pairs({"eval": {"mse": 0.1, "implied_pairs": {"accuracy": 0.5, "n_pairs": 4}}})
    {'accuracy': 0.5, 'n_pairs': 4}
    """
    ev = results.get("eval") or {}
    return ev if "accuracy" in ev else (ev.get("implied_pairs") or {})


def _accuracy_note(pairs: dict, steps) -> dict:
    """The held-out accuracy's 95 % interval, and a plain note when it cannot tell the model from chance.

    >>> _accuracy_note({"accuracy": 2 / 9, "n_pairs": 9}, 96)["note"]
    'not distinguishable from chance (0.5): 9 held-out pairs after 96 steps'
    """
    from sparse_feedback.reward.metrics import accuracy_interval

    accuracy, n = pairs.get("accuracy"), int(pairs.get("n_pairs") or 0)
    if accuracy is None or not n:
        return {"accuracy_95ci": None, "note": "no held-out pairs"}
    low, high = accuracy_interval(float(accuracy), n)
    note = (f"not distinguishable from chance (0.5): {n} held-out pairs after {steps} steps" if low <= 0.5 <= high
            else "above chance" if low > 0.5 else "below chance")
    return {"accuracy_95ci": f"{low:.2f}–{high:.2f}", "note": note}
