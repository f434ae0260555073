"""Store and analysis frames as tables a person reads: human headers, numbers to two decimals, ``±`` intervals,
arguments as text, model paths as names. Every dashboard table goes through :func:`readable`."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

MISSING = "–"
# Column names of the analyses → headers. A column not listed gets its name with spaces, capitalised.
HEADERS = {
    "rating_source": "Ratings from", "ranking_source": "Rankings from", "consistency": "Consistency %",
    "n_pairs": "Pairs", "n": "Items", "protocol": "Protocol", "annotators": "Annotators",
    "items_multi": "Items with 2+ answers", "mean_cohen_kappa": "Mean Cohen's κ", "fleiss_kappa": "Fleiss' κ",
    "krippendorff_alpha": "Krippendorff's α", "alpha_level": "α level", "human_llm_n": "Human–LLM pairs",
    "human_llm_agreement": "Human–LLM agreement %", "human_llm_kappa": "Human–LLM κ",
    "majority_llm_kappa": "Majority–LLM κ", "annotator_a": "Annotator A", "annotator_b": "Annotator B",
    "agreement": "Agreement %", "kappa": "Cohen's κ", "alpha": "Krippendorff's α", "source_a": "Source A",
    "source_b": "Source B", "ratings_items": "Ratings", "ratings_agreement_others": "Ratings: agree with others %",
    "ratings_agreement_llm": "Ratings: agree with LLM %", "rankings_items": "Rankings",
    "rankings_agreement_others": "Rankings: agree with others %", "rankings_agreement_llm": "Rankings: agree with LLM %",
    "median_seconds": "Median seconds", "source": "Source", "pairs": "Pairs", "longer_preferred": "Longer preferred %",
    "equal": "Equal %", "judge": "Judge", "order_dependent": "Order-dependent %", "first_shown_won": "First shown won %",
    "first_choice": "First position chosen %", "candidate": "Candidate", "win_rate": "Win-rate %", "wins": "Wins",
    "ties": "Ties", "losses": "Losses", "lc_win_rate": "Length-controlled win-rate %", "gap_words": "Length gap (words)",
    "instruction": "Instruction", "input": "Input", "reference_rating": "Reference rating",
    "candidate_rating": "Candidate rating", "ratings_score": "Ratings score", "rankings_feedback": "Ranking",
    "rankings_score": "Rankings score", "length_gap": "Length gap (words)", "size": "Size", "output1": "Output 1",
    "output2": "Output 2", "annotator": "Annotator", "done": "Done", "skipped": "Skipped", "open": "Open",
    "model_dir": "Reward model", "base": "Base model", "steps": "Steps", "n_train": "Training pairs",
    "accuracy": "Accuracy", "held_out_pairs": "Held-out pairs", "accuracy_95ci": "95 % interval", "note": "Note",
    "mse": "MSE", "spearman": "Spearman ρ", "cross_accuracy": "Cross-protocol accuracy",
    "row": "Run", "reranked_with": "Reranked with", "x": "Higher under rankings", "y": "Lower under rankings",
    "ratings_diff": "Ratings gap (points)", "rankings_diff": "Rankings gap (points)",
    "dod": "Difference of differences [95 %]", "inverted": "Inverted", "model": "Policy",
    "bt_score": "Bradley–Terry score [95 %]", "win_rate_vs_reference": "Implied win-rate %",
    "comparisons": "Comparisons", "ratings_mean": "Mean rating", "ratings_n": "Rated outputs",
    "rankings_rank": "Rank (rankings)", "ratings_rank": "Rank (ratings)",
}


def header(column: str) -> str:
    """>>> header("mean_cohen_kappa"), header("some_new_column")
    ("Mean Cohen's κ", 'Some new column')
    """
    return HEADERS.get(column, column.replace("_", " ").capitalize())


def number(value, decimals: int = 2, fixed: bool = False) -> str:
    """A number as a person reads it: integers as they are (unless ``fixed``), others to ``decimals`` places,
    missing as a dash.

    >>> number(23.333333333333332), number(0.047619047619), number(60), number(7.0), number(float("nan"))
    ('23.33', '0.05', '60', '7', '–')
    >>> number(60.0, fixed=True)
    '60.00'
    >>> number(None), number("(a)"), number(True)
    ('–', '(a)', 'True')
    """
    if value is None or isinstance(value, (str, bool)):
        return MISSING if value is None else str(value)
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return MISSING
    if v.is_integer() and abs(v) < 1e15 and not fixed:
        return str(int(v))
    return f"{v:.{decimals}f}"


def with_interval(value, half_width, decimals: int = 1) -> str:
    """``value ± half_width``; the value alone when the interval is missing.

    >>> with_interval(58.333333, 20.305), with_interval(50, float("nan")), with_interval(float("nan"), 3)
    ('58.3 ± 20.3', '50.0', '–')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if half_width is None or (isinstance(half_width, float) and math.isnan(half_width)):
        return number(value, decimals, fixed=True)
    return f"{float(value):.{decimals}f} ± {float(half_width):.{decimals}f}"


def with_bounds(value, low, high, decimals: int = 2) -> str:
    """``value [low, high]`` for an interval that need not be symmetric (a bootstrap's percentiles).

    >>> with_bounds(0.3636, 0.1225, 0.6062), with_bounds(0.0, float("nan"), float("nan")), with_bounds(None, 1, 2)
    ('0.36 [0.12, 0.61]', '0.00', '–')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if any(b is None or (isinstance(b, float) and math.isnan(b)) for b in (low, high)):
        return number(value, decimals, fixed=True)
    return f"{float(value):.{decimals}f} [{float(low):.{decimals}f}, {float(high):.{decimals}f}]"


def readable(frame: pd.DataFrame, intervals: dict[str, str] | None = None, drop=(), decimals: int = 2,
             headers: dict[str, str] | None = None) -> pd.DataFrame:
    """``frame`` with every number formatted (:func:`number`), ``intervals`` ({value column: its ±
    column}) joined into one ``value ± half`` column, ``drop`` left out and headers made human.

    >>> frame = pd.DataFrame({"candidate": ["long", "short"], "win_rate": [58.333333, 40.0], "ci95": [20.305, 9.0],
    ...                       "n": [12, 10], "kappa": [0.047619, 1.0], "seconds": [3.0, float("nan")]})
    >>> readable(frame, intervals={"win_rate": "ci95"}).to_dict("records")
    [{'Candidate': 'long', 'Win-rate %': '58.3 ± 20.3', 'Items': '12', "Cohen's κ": '0.05', 'Seconds': '3'},
     {'Candidate': 'short', 'Win-rate %': '40.0 ± 9.0', 'Items': '10', "Cohen's κ": '1.00', 'Seconds': '–'}]
    """
    intervals = intervals or {}
    out = {}
    for column in frame.columns:
        if column in drop or column in intervals.values():
            continue
        values = frame[column]
        name = (headers or {}).get(column) or header(column)
        if column in intervals:
            out[name] = [with_interval(v, c) for v, c in zip(values, frame[intervals[column]])]
        elif pd.api.types.is_float_dtype(values):  # one number of places down a column: 60.00 above 53.33
            fixed = not all(float(v).is_integer() for v in values.dropna())
            out[name] = [number(v, decimals, fixed) for v in values]
        elif pd.api.types.is_numeric_dtype(values) or values.dtype == object:
            out[name] = [number(v, decimals) for v in values]
        else:
            out[name] = [MISSING if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else str(v)
                         for v in values]
    return pd.DataFrame(out, columns=list(out))


def turned(frame: pd.DataFrame, key: str, name: str = "Measure") -> pd.DataFrame:
    """A readable table with one column per value of column ``key`` and one row per other column: a few long
    rows (one per protocol, a dozen measures) read better as a narrow, tall table.

    >>> wide = pd.DataFrame({"Protocol": ["ratings", "rankings"], "Fleiss' κ": ["0.42", "0.31"]})
    >>> turned(wide, "Protocol").to_dict("records")
    [{'Measure': "Fleiss' κ", 'ratings': '0.42', 'rankings': '0.31'}]
    """
    out = frame.set_index(key).T.reset_index().rename(columns={"index": name})
    out.columns.name = None
    return out


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


def reward_models_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The Train tab's trained reward models: each named by its folder (never a server path), metrics readable.

    >>> found = pd.DataFrame({"model_dir": ["/srv/x/reward_models/demo-rm"], "accuracy": [0.529412]})
    >>> reward_models_table(found).to_dict("records")
    [{'Reward model': 'demo-rm', 'Accuracy': '0.53'}]
    """
    return readable(frame.assign(model_dir=[Path(str(d)).name for d in frame["model_dir"]]))
