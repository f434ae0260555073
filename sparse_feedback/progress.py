"""The one progress helper: a tqdm bar on the terminal, and an optional callback for the app."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Callable

from tqdm.auto import tqdm

ProgressCallback = Callable[[int, int, str], None]  # (done, total, description)


class Progress(AbstractContextManager):
    """Counts work done; drives a tqdm bar and calls ``callback(done, total, desc)`` on each update."""

    def __init__(self, total: int | None, desc: str = "", callback: ProgressCallback | None = None,
                 disable: bool | None = None, unit: str = "it"):
        self.total, self.desc, self.callback, self.done = total, desc, callback, 0
        self.bar = tqdm(total=total, desc=desc, disable=disable, unit=unit, dynamic_ncols=True)

    def update(self, n: int = 1, **postfix) -> None:
        self.done += n
        self.bar.update(n)
        if postfix:
            self.bar.set_postfix(postfix, refresh=False)
        if self.callback is not None:  # the app shows the same figures the bar does
            shown = ", ".join(f"{k} {v}" for k, v in postfix.items())
            self.callback(self.done, self.total or 0, f"{self.desc} ({shown})" if shown else self.desc)

    def close(self) -> None:
        self.bar.close()

    def __exit__(self, *exc) -> None:
        self.close()
