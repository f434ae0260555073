"""Small hand-made feedback tables and writers for every container, independent of sparse_feedback's writers.

Each writer takes canonical rows (dicts) and a path; what the readers must give back is in ``EXPECTED``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

# Texts with the awkward bits real data has: commas, quotes, newlines, non-ASCII, an input spelled "nan".
ROWS = {
    "rating feedback": [
        {"instruction": "Add 2 and 3.", "input": "", "output": "5", "rating": 7},
        {"instruction": "Translate to French.", "input": "Good morning", "output": "Bonjour, «mes amis»",
         "rating": 6},
        {"instruction": 'Say "hi", twice', "input": "nan", "output": "hi\nhi", "rating": 2},
    ],
    "ranking feedback": [
        {"instruction": "Add 2 and 3.", "input": "", "output1": "5", "output2": "6", "feedback": "(a)"},
        {"instruction": "Translate to French.", "input": "Good morning", "output1": "Hola", "output2": "Bonjour",
         "feedback": "(b)"},
        {"instruction": 'Say "hi", twice', "input": "nan", "output1": "hi hi", "output2": "hi\nhi",
         "feedback": "equal"},
    ],
    "rating tasks": [
        {"instruction": "Add 2 and 3.", "input": "", "response": "5"},
        {"instruction": "Translate to French.", "input": "Good morning", "response": "Bonjour, «mes amis»"},
    ],
    "ranking tasks": [
        {"instruction": "Add 2 and 3.", "input": "", "response1": "5", "response2": "6"},
        {"instruction": "Translate to French.", "input": "nan", "response1": "Hola", "response2": "Bonjour"},
    ],
    "instructions": [
        {"instruction": "Add 2 and 3.", "input": ""},
        {"instruction": "Translate to French.", "input": "Good morning"},
    ],
}

# Missing inputs read back as the empty string.
EXPECTED = {kind: [{k: ("" if k == "input" and v == "nan" else v) for k, v in row.items()} for row in rows]
            for kind, rows in ROWS.items()}


def _missing_input_as_null(rows: list[dict]) -> list[dict]:
    """Typed containers store a missing input as null, as pandas and datasets do."""
    return [{k: (None if k == "input" and v in ("", "nan") else v) for k, v in row.items()} for row in rows]


def csv_headerless(rows, path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([list(r.values()) for r in rows])
    return path


def csv_header(rows, path: Path, rename: dict | None = None) -> Path:
    rename = rename or {}
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([rename.get(k, k) for k in rows[0]])
        writer.writerows([list(r.values()) for r in rows])
    return path


def json_list(rows, path: Path) -> Path:
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def jsonl(rows, path: Path) -> Path:
    # A missing key is a missing input too.
    lines = [json.dumps({k: v for k, v in r.items() if not (k == "input" and v == "")}, ensure_ascii=False)
             for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def parquet(rows, path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(_missing_input_as_null(rows)), path)
    return path


def hf_dataset(rows, path: Path) -> Path:
    import datasets

    datasets.Dataset.from_list(_missing_input_as_null(rows)).save_to_disk(str(path))
    return path


CONTAINERS = {
    "headerless.csv": csv_headerless,
    "header.csv": csv_header,
    "rows.json": json_list,
    "rows.jsonl": jsonl,
    "rows.parquet": parquet,
    "hf_dataset": hf_dataset,
}


def write(container: str, rows, directory: Path) -> Path:
    """Write ``rows`` into ``directory`` in the named container; returns the path to read."""
    return CONTAINERS[container](rows, directory / container)
