"""The demo project shipped in ``assets/demo/``: loaded on first start so the app is usable at once."""

from __future__ import annotations

from pathlib import Path

from sparse_feedback import formats

DEMO_NAME = "demo"
PAPER_NAME = "paper"  # the original paper's sample data (Alpaca-7B, GPT-3.5-Turbo), in ``paper/`` of the demo folder
# The public demo's projects, the one it opens on first: the paper's sample (its real judge), not the small
# demo whose 135M judge answers "equal" to most pairs.
DEMO_PROJECTS = (PAPER_NAME, DEMO_NAME)


def load_demo(store, directory, name: str = DEMO_NAME) -> dict:
    """Create project ``name`` from ``generation.json`` and store ``llm_ratings.csv`` / ``llm_rankings.csv``
    (when present) as its LLM source; returns counts."""
    directory = Path(directory)
    generation = formats.read_generation(directory / "generation.json")
    project = store.create_project_from_generation(generation, name, overlap=1)
    counts = {"items": project.n_items}
    for protocol, reader, importer in (("ratings", formats.read_rating_feedback, store.import_llm_ratings),
                                       ("rankings", formats.read_ranking_feedback, store.import_llm_rankings)):
        path = directory / f"llm_{protocol}.csv"
        if path.exists():
            frame = reader(path)  # duplicate rows (the paper sample has some): the first is kept
            counts[f"llm_{protocol}"] = importer(name, frame, "llm")
    return counts


def ensure_demo(store, directory) -> dict | None:
    """Load the demo and the paper's sample (``paper/``) when the store has no project at all (first start);
    returns the demo's counts, None when nothing was loaded."""
    directory = Path(directory)
    if store.projects() or not (directory / "generation.json").exists():
        return None
    counts = load_demo(store, directory)
    if (directory / "paper" / "generation.json").exists():
        load_demo(store, directory / "paper", PAPER_NAME)
    return counts
