"""Store frames as tables a person reads: human headers, arguments as text, model paths as names."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def describe_args(args: dict) -> str:
    """A job's arguments as one line: empty values left out, paths shortened to their last part.

    >>> describe_args({"policy": "smollm2-135m", "n": 6, "reference": None,
    ...                "reward_models": ["/x/reward_models/demo-ratings-rm", "/x/reward_models/demo-rankings-rm"]})
    'policy smollm2-135m · n 6 · reward models demo-ratings-rm, demo-rankings-rm'
    """
    def text(value) -> str:
        if isinstance(value, (list, tuple)):
            return ", ".join(text(v) for v in value)
        value = str(value)
        return Path(value).name if "/" in value else value

    return " · ".join(f"{k.replace('_', ' ')} {text(v)}" for k, v in (args or {}).items()
                      if v not in (None, "", [], {}))


def jobs_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The jobs table of the Admin tab: what ran, with which settings, when, and how it ended."""
    rows = [{"Job": f"#{r.id}", "Kind": str(r.kind).replace("_", "-"), "Status": r.status,
             "Settings": describe_args(r.args), "Started": pd.Timestamp(r.created_at).strftime("%Y-%m-%d %H:%M"),
             "Message": r.message or ""} for r in frame.itertuples()]
    return pd.DataFrame(rows, columns=["Job", "Kind", "Status", "Settings", "Started", "Message"])
