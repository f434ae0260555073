"""Evaluation tasks for a candidate against a reference, matched on (instruction, input).

The ratings protocol rates each side's output alone; the rankings protocol shows both with the reference
as response1 (so ``(b)`` means the candidate won).

>>> import pandas as pd
>>> ref = pd.DataFrame({"instruction": ["a", "b"], "input": ["", ""], "output": ["r1", "r2"], "dataset": ["x", "selfinstruct"]})
>>> cand = pd.DataFrame({"instruction": ["b", "a", "c"], "input": ["", "", ""], "output": ["c2", "c1", "c3"]})
>>> pairs = matched_outputs(ref, cand, exclude_datasets=["selfinstruct"])
>>> pairs[["instruction", "reference", "candidate"]].values.tolist()
[['a', 'r1', 'c1']]
>>> ranking_eval_tasks(pairs).columns.tolist()
['instruction', 'input', 'response1', 'response2']
"""

from __future__ import annotations

import pandas as pd

_KEY = ["instruction", "input"]


def matched_outputs(reference: pd.DataFrame, candidate: pd.DataFrame,
                    exclude_datasets=()) -> pd.DataFrame:
    """``instruction, input, dataset, reference, candidate`` for instructions both sides answered (reference order).

    ``exclude_datasets`` drops rows whose dataset (from either side) is listed, e.g. AlpacaEval's selfinstruct.
    """
    ref = reference.drop_duplicates(_KEY, keep="first")
    cand = candidate.drop_duplicates(_KEY, keep="first")
    merged = ref[[*_KEY, "output"] + (["dataset"] if "dataset" in ref else [])].merge(
        cand[[*_KEY, "output"] + (["dataset"] if "dataset" in cand else [])], on=_KEY, how="inner",
        suffixes=("_ref", "_cand"))
    merged = merged.rename(columns={"output_ref": "reference", "output_cand": "candidate"})
    datasets = [merged.pop(c) for c in ("dataset", "dataset_ref", "dataset_cand") if c in merged]
    merged["dataset"] = (datasets[0].combine_first(datasets[1]) if len(datasets) == 2
                         else datasets[0] if datasets else "")
    merged["dataset"] = merged["dataset"].fillna("")
    if exclude_datasets:
        merged = merged[~merged["dataset"].isin(list(exclude_datasets))]
    return merged[[*_KEY, "dataset", "reference", "candidate"]].reset_index(drop=True)


def rating_eval_tasks(pairs: pd.DataFrame, side: str) -> pd.DataFrame:
    """Rating tasks for one side (``reference`` or ``candidate``): ``instruction, input, response``."""
    return pairs[[*_KEY, side]].rename(columns={side: "response"})


def ranking_eval_tasks(pairs: pd.DataFrame) -> pd.DataFrame:
    """Pairwise tasks: reference = response1, candidate = response2."""
    return pairs[[*_KEY, "reference", "candidate"]].rename(columns={"reference": "response1",
                                                                    "candidate": "response2"})
