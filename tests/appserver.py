"""Launch the real app on 127.0.0.1 (free port) inside a test, with a fresh store and given users."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

USERS = "alice:alice-pw:annotator,bob:bob-pw:annotator,carol:carol-pw:annotator,root:root-pw:admin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def small_generation(n_items: int = 2, n_responses: int = 3, xss: bool = False) -> pd.DataFrame:
    rows = []
    for i in range(n_items):
        responses = [f"Answer {j} to question {i}, written plainly." for j in range(n_responses)]
        if xss and i == 0:
            responses[0] = ('<script>alert("xss")</script><img src=x onerror="alert(1)"> '
                            '[click](javascript:alert(2)) plain tail')
        rows.append((f"Question number {i}: say something useful.", "" if i % 2 else f"context {i}", responses))
    return pd.DataFrame(rows, columns=["instruction", "input", "responses"], dtype=object)


@contextlib.contextmanager
def running_app(tmp_path, users: str | None = USERS, setup=None, blocks_out: list | None = None,
                extra_env: dict | None = None, watch: bool = False):
    """Yield (url, store). ``setup(store)`` runs before launch (create projects, feedback); the launched
    ``gr.Blocks`` is appended to ``blocks_out`` when given (its routes, its config); ``extra_env`` is set
    while the app runs (public demo mode); ``watch``: the runner's watch runs too, as under ``python app.py``."""
    import app as app_module
    from sparse_feedback.store import Store

    env = {"SPARSE_FEEDBACK_HOME": str(tmp_path / "home"), "SPARSE_FEEDBACK_USERS": users or "", **(extra_env or {})}
    old = {k: os.environ.get(k) for k in [*env, "FORWARDED_ALLOW_IPS"]}  # launch_kwargs sets the latter
    os.environ.update(env)
    if not users:
        os.environ.pop("SPARSE_FEEDBACK_USERS")
    try:
        store = Store(f"sqlite:///{tmp_path / 'home' / 'sparse_feedback.db'}")
        if setup is not None:
            setup(store)
        blocks, access = app_module.open_app(store, watch=watch)
        kwargs = app_module.launch_kwargs(access)
        _, url, _ = blocks.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True,
                                  quiet=True, **kwargs)
        if blocks_out is not None:
            blocks_out.append(blocks)
        try:
            yield url, store
        finally:
            if watch:
                blocks.runner_watch.stop()
            blocks.close()
            store.close()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
