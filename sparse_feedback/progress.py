"""The one progress helper: a tqdm bar on the terminal, and an optional callback for the app; and the callback
that writes a background job's ``progress.json`` (what the app's job views read: counts, elapsed time, ETA)."""

from __future__ import annotations

import json
import os
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Callable

from tqdm.auto import tqdm

ProgressCallback = Callable[[int, int, str], None]  # (done, total, description)
PROGRESS_FILE = "progress.json"
PARTIAL_EVERY = 0.25  # seconds between two calls of the callback for work part-way through an item


class Progress(AbstractContextManager):
    """Counts work done; drives a tqdm bar and calls ``callback(done, total, desc)`` on each update, and once at
    the start (so a job's total is known before its first item ends). ``initial``: work a resumed run skips."""

    def __init__(self, total: int | None, desc: str = "", callback: ProgressCallback | None = None,
                 disable: bool | None = None, unit: str = "it", initial: int = 0):
        self.total, self.desc, self.callback, self.done = total, desc, callback, initial
        self._partial = -PARTIAL_EVERY
        self.bar = tqdm(total=total, desc=desc, disable=disable, unit=unit, dynamic_ncols=True, initial=initial)
        if callback is not None and total:
            callback(self.done, total, desc)

    def update(self, n: int = 1, **postfix) -> None:
        self.done += n
        self.bar.update(n)
        if postfix:
            self.bar.set_postfix(postfix, refresh=False)
        if self.callback is not None:  # the app shows the same figures the bar does
            shown = ", ".join(f"{k} {v}" for k, v in postfix.items())
            self.callback(self.done, self.total or 0, f"{self.desc} ({shown})" if shown else self.desc)

    def partial(self, fraction: float, detail: str) -> None:
        """Part-way through the next item (a long batch): ``callback(done + fraction, total, detail)``, a
        fractional count whose description says where the work is (the bar is left as it is). At most four a
        second: a decoding step may call it hundreds of times a second."""
        now = time.monotonic()
        if self.callback is not None and self.total and now - self._partial >= PARTIAL_EVERY:
            self._partial = now
            self.callback(self.done + min(max(fraction, 0.0), 0.999), self.total, detail)

    def close(self) -> None:
        self.bar.close()

    def __exit__(self, *exc) -> None:
        self.close()


def progress_file(directory, stage: str, every: float = 0.5) -> ProgressCallback:
    """A callback ``(done, total, desc)`` writing ``progress.json`` in ``directory`` at most every ``every`` s
    (always at the end): the stage, counts, description, the wall time the stage started and was last updated,
    and the count it started from (a resumed stage), from which the app shows elapsed time and an ETA. A
    fractional ``done`` (see :meth:`Progress.partial`) is kept as ``fraction``; its ``desc`` is the ``detail``."""
    path = Path(directory) / PROGRESS_FILE
    state: dict = {"last": 0.0}

    def callback(done, total, desc: str) -> None:
        now = time.time()
        if "started" not in state:
            state.update(started=now, start_done=done)
        if done < total and time.monotonic() - state["last"] < every:
            return
        state["last"] = time.monotonic()
        record = {"stage": stage, "done": int(done), "total": total, "desc": desc, "started": state["started"],
                  "start_done": state["start_done"], "updated": now}
        if done != int(done):
            record.update(fraction=done, detail=desc)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record), "utf-8")
        os.replace(tmp, path)

    return callback


def clock(seconds: float) -> str:
    """``1:05`` or ``2:03:09``.

    >>> clock(65.4), clock(7389)
    ('1:05', '2:03:09')
    """
    seconds = int(max(seconds, 0) + 0.5)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def timing(progress: dict, now: float | None = None) -> str:
    """``elapsed 1:05 · ETA 3:20`` from a ``progress.json`` record (no ETA before any work is done).

    >>> timing({"done": 2, "total": 8, "started": 0.0, "start_done": 0, "updated": 60.0}, now=60.0)
    'elapsed 1:00 · ETA 3:00'
    """
    if progress.get("started") is None:
        return ""
    now = time.time() if now is None else now
    line = f"elapsed {clock(now - progress['started'])}"
    done = float(progress.get("fraction", progress.get("done", 0)))
    gained, spent = done - float(progress.get("start_done") or 0), progress.get("updated", now) - progress["started"]
    total = progress.get("total") or 0
    if gained > 0 and spent > 0 and total and done < total:
        line += f" · ETA {clock((total - done) * spent / gained - (now - progress.get('updated', now)))}"
    return line
