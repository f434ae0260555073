"""A ``winrates.json`` as text, for the CLI and the app alike."""

from __future__ import annotations


def format_result(result: dict) -> str:
    """Both win-rates of a ``winrates.json``, one line each (an interval undefined for n=1 reads nan).

    >>> one = {"win_rate": 100.0, "ci95": None, "n": 1, "wins": 1, "ties": 0, "losses": 0}
    >>> print(format_result({"ratings": one, "rankings": {**one, "n": 0}}))
     ratings: win-rate 100.00 ± nan % (n=1: 1 wins, 0 ties, 0 losses)
    rankings: win-rate undefined: nothing to compare (n=0)
    """
    import math

    from sparse_feedback.analysis import WinRate

    def win_rate(values: dict) -> WinRate:
        return WinRate(**{k: math.nan if v is None else v for k, v in values.items()})

    return "\n".join(f"{protocol:>8}: {win_rate(result[protocol])}" for protocol in ("ratings", "rankings"))
