"""``python app.py`` as a real subprocess (so a test can kill -9 it and start it again on the same store)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.appserver import ROOT, free_port


class AppProcess:
    """One app server on 127.0.0.1 over the store in ``home``; the same port on every (re)start."""

    def __init__(self, home: Path, users: str, **env):
        self.home, self.port = Path(home), free_port()
        self.env = {**os.environ, "SPARSE_FEEDBACK_HOME": str(home), "SPARSE_FEEDBACK_USERS": users,
                    "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(self.port),
                    "GRADIO_ANALYTICS_ENABLED": "False", **env}
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 90) -> "AppProcess":
        self.starts += 1
        log = open(self.home / f"app-{self.starts}.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=self.env, stdout=log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app exited with {self.proc.returncode}: {self.log()[-2000:]}")
            try:
                if httpx.get(self.url, timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("app did not start in time")

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill9()

    def log(self) -> str:
        return "\n".join((self.home / f"app-{i}.log").read_text("utf-8", "replace") for i in range(1, self.starts + 1))

    def __enter__(self) -> "AppProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
