"""Where the project keeps its data and caches (one place, read from the environment)."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """``$SPARSE_FEEDBACK_HOME``, else ``/data`` on a Hugging Face Space with a volume, else ``./data``."""
    env = os.environ.get("SPARSE_FEEDBACK_HOME")
    if env:
        return Path(env)
    if os.environ.get("SPACE_ID") and Path("/data").is_dir():
        return Path("/data")
    return Path("data")


def cache_dir() -> Path:
    """Downloaded model files and other reusable artefacts."""
    env = os.environ.get("SPARSE_FEEDBACK_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "sparse_feedback"
