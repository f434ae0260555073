import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "seed-data"


@pytest.fixture
def seed() -> Path:
    if not SEED.is_dir():
        pytest.skip("../shared/seed-data is absent")
    return SEED


def run_cli(*args, cwd=ROOT, env=None, timeout=600):
    """Run ``python -m sparse_feedback ARGS`` as a user would; returns the CompletedProcess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "sparse_feedback", *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli
