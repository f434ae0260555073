"""Per-session state is bounded: one-shot API calls (each a new Gradio session) do not pile up server state.
Scaled down: 50 calls with room for 10 sessions; ``bench/bench_sessions.py`` measures the memory itself."""

from __future__ import annotations

import pytest

from tests.appserver import running_app, small_generation
from tests.reliability.rawhttp import named_call, signed_in

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(180)]


@pytest.mark.slow
def test_new_session_calls_keep_only_the_most_recent_sessions(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSE_FEEDBACK_SESSIONS", "10")
    blocks = []
    with running_app(tmp_path, setup=lambda s: s.create_project_from_generation(small_generation(5, 3), "p", overlap=3),
                     blocks_out=blocks) as (url, _):
        held = blocks[0].state_holder
        alice = signed_in(url, "alice", "alice-pw")
        for _ in range(50):
            assert named_call(alice, "rate_show", ["p", ""])["success"]
        assert len(held.session_data) <= 10
        bob = signed_in(url, "bob", "bob-pw")  # a session evicted or not, the next call is served as before
        assert named_call(bob, "rate_show", ["p", ""])["data"][5]["assignment_id"]
