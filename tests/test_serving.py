"""Gradio settings applied by app.py before Gradio starts (sparse_feedback/ui/serving.py)."""

import pytest
import importlib.util
import os
import subprocess
import sys


@pytest.mark.slow
def test_app_caches_gradio_analytics_and_makes_a_missing_matplotlib_a_cheap_import():
    code = ("import app, os, sys, importlib.util, time\n"
            "print(os.environ['GRADIO_ANALYTICS_CACHE_FREQUENCY'], os.environ['GRADIO_ANALYTICS_MAX_EVENTS'])\n"
            "start = time.perf_counter()\n"
            "for _ in range(1000):\n"
            "    try:\n"
            "        import matplotlib\n"
            "    except ImportError:\n"
            "        pass\n"
            "print(time.perf_counter() - start)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADIO_ANALYTICS_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__)))).stdout.split("\n")
    assert out[0] == "1000 1000"
    if importlib.util.find_spec("matplotlib") is None:
        assert float(out[1]) < 0.05  # a thousand failed imports without searching sys.path each time


def test_a_value_set_in_the_environment_wins(monkeypatch):
    from sparse_feedback.ui.serving import tune_gradio

    monkeypatch.setenv("GRADIO_ANALYTICS_CACHE_FREQUENCY", "7")
    monkeypatch.setenv("GRADIO_ANALYTICS_MAX_EVENTS", "5")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())  # leave sys.modules alone here
    tune_gradio()
    assert (os.environ["GRADIO_ANALYTICS_CACHE_FREQUENCY"], os.environ["GRADIO_ANALYTICS_MAX_EVENTS"]) == ("7", "5")
