"""Resumable generation: each instruction's samples are appended to a sidecar JSONL as soon as they exist,
and the generation JSON is written atomically at the end. A rerun skips the instructions already done."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from sparse_feedback.errors import InputError
from sparse_feedback.formats import check_output, write_json
from sparse_feedback.backends import Backend
from sparse_feedback.generate.config import SamplingConfig
from sparse_feedback.progress import Progress, ProgressCallback


def sidecar_path(output) -> Path:
    """Where finished instructions are logged while ``output`` is being generated."""
    output = Path(output)
    return output.with_name(output.name + ".parts.jsonl")


def _settings(model: str, config: SamplingConfig) -> dict:
    return {"model": model, **config.identity()}


def load_done(sidecar: Path, settings: dict) -> dict[int, dict]:
    """Records already generated, by instruction index; a sidecar made with other settings is refused."""
    if not sidecar.exists():
        return {}
    done: dict[int, dict] = {}
    lines = sidecar.read_text("utf-8").splitlines()
    for n, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if n == len(lines):  # the write a crash interrupted; that instruction runs again
                break
            raise InputError(sidecar, "corrupt line; delete the file to start over", where=f"line {n}") from None
        if "settings" in record:
            if record["settings"] != settings:
                changed = sorted(k for k in settings if record["settings"].get(k) != settings[k])
                raise InputError(sidecar, f"made with other settings ({', '.join(changed)} differ); delete it or "
                                 "choose another --output")
            continue
        done[record["index"]] = record
    return done


def _record(index: int, row: pd.Series, responses: list[str], model: str) -> dict:
    record = {"index": index, "instruction": row["instruction"], "input": row["input"], "responses": responses,
              "generator": model}
    if isinstance(row.get("dataset"), str):
        record["dataset"] = row["dataset"]
    return record


def generate(instructions: pd.DataFrame, backend: Backend, config: SamplingConfig, output,
             callback: ProgressCallback | None = None, model: str | None = None) -> list[dict]:
    """Sample ``config.n`` responses per instruction into ``output`` (the generation JSON); returns its records.

    Each record is ``{instruction, input, responses, generator[, dataset]}`` in instruction order.
    """
    model = model or getattr(backend, "model_name", "model")
    output, sidecar = check_output(output), check_output(sidecar_path(output))
    settings = _settings(model, config)
    done = load_done(sidecar, settings)
    rows = instructions.reset_index(drop=True)
    for index, record in done.items():
        if index >= len(rows) or record["instruction"] != rows.at[index, "instruction"]:
            raise InputError(sidecar, f"instruction {index + 1} differs from the instructions file; delete it to "
                             "start over")
    todo = [(i, rows.at[i, "instruction"], rows.at[i, "input"]) for i in range(len(rows)) if i not in done]
    sidecar.parent.mkdir(parents=True, exist_ok=True)
    with open(sidecar, "a", encoding="utf-8") as log, \
            Progress(len(rows), desc=f"generate ({model})", callback=callback, unit="instruction",
                     initial=len(done)) as bar:
        if not done:
            log.write(json.dumps({"settings": settings}) + "\n")
        if hasattr(backend, "on_tokens"):  # a local model: where a long batch is, between two finished ones
            backend.on_tokens = lambda items, tokens, most: bar.partial(
                items * tokens / most, f"next {items} instruction(s) x {config.n} sample(s): token {tokens}/{most}")

        def persist(index: int, responses: list[str]) -> None:
            record = _record(index, rows.iloc[index], responses, model)
            log.write(json.dumps(record, ensure_ascii=False) + "\n")
            log.flush()
            os.fsync(log.fileno())
            done[index] = record
            bar.update()

        try:
            if todo:
                backend.generate(todo, config, persist)
        finally:
            if hasattr(backend, "on_tokens"):
                backend.on_tokens = None
    records = [{k: v for k, v in done[i].items() if k != "index"} for i in range(len(rows))]
    write_json(records, output)
    return records
