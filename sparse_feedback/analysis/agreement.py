"""Inter-annotator and human-vs-LLM agreement per protocol: Cohen's κ, Fleiss' κ, Krippendorff's α.

Items are responses for ratings and unordered pairs for rankings (labels in the canonical order,
mapped to +1 = ``(a)``, 0 = ``equal``, −1 = ``(b)``). Label matrices are items × annotators with NaN
where an annotator did not label an item.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from sparse_feedback.analysis.sources import (
    ANNOTATOR, GRADE, HUMAN, LLM, MAJORITY, Feedback, canonical_labels, response_key, source_rankings, source_ratings,
)

PROTOCOLS = ("ratings", "rankings")


def cohen_kappa(a, b) -> float:
    """Cohen's κ of two raters' labels on the same items: (p_o − p_e) / (1 − p_e); NaN when p_e = 1.

    The textbook 2×2 example (20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no) gives 0.4:

    >>> a = ["y"] * 25 + ["n"] * 25
    >>> b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    >>> round(cohen_kappa(a, b), 4)
    0.4
    """
    a, b = np.asarray(a), np.asarray(b)
    if len(a) == 0:
        return float("nan")
    cats, codes = np.unique(np.concatenate([a, b]), return_inverse=True)
    ca, cb = codes[: len(a)], codes[len(a):]
    k = len(cats)
    table = np.bincount(ca * k + cb, minlength=k * k).reshape(k, k) / len(a)
    p_o = np.trace(table)
    p_e = float(table.sum(axis=1) @ table.sum(axis=0))
    return float("nan") if np.isclose(p_e, 1.0) else float((p_o - p_e) / (1 - p_e))


def fleiss_kappa(counts) -> float:
    """Fleiss' κ from an items × categories matrix of how many raters chose each category.

    Items may have different numbers of raters (those with fewer than two are ignored); with a
    constant number it is Fleiss' (1971) statistic. Fleiss' example of 10 items, 14 raters:

    >>> table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    ...          [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    >>> round(fleiss_kappa(table), 3)
    0.21
    """
    counts = np.asarray(counts, dtype=float)
    raters = counts.sum(axis=1)
    counts, raters = counts[raters >= 2], raters[raters >= 2]
    if len(counts) == 0:
        return float("nan")
    p_item = ((counts * (counts - 1)).sum(axis=1) / (raters * (raters - 1))).mean()
    p_cat = counts.sum(axis=0) / raters.sum()
    p_e = float((p_cat ** 2).sum())
    return float("nan") if np.isclose(p_e, 1.0) else float((p_item - p_e) / (1 - p_e))


def _delta2(values: np.ndarray, totals: np.ndarray, level: str) -> np.ndarray:
    if level == "nominal":
        return 1.0 - np.eye(len(values))
    if level == "interval":
        return np.subtract.outer(values, values) ** 2
    if level == "ordinal":
        # Krippendorff's ordinal metric: the mass of ranks between c and k, each end counted half,
        # so tied values share their mid-rank.
        cum = np.concatenate([[0.0], np.cumsum(totals)])
        idx = np.arange(len(values))
        lo, hi = np.minimum.outer(idx, idx), np.maximum.outer(idx, idx)
        between = cum[hi + 1] - cum[lo]
        return (between - (totals[lo] + totals[hi]) / 2) ** 2
    raise ValueError(f"unknown level {level!r} (nominal, ordinal or interval)")


def krippendorff_alpha(data, level: str = "ordinal") -> float:
    """Krippendorff's α of a units × coders matrix (NaN = missing) at a nominal, ordinal or interval level.

    Built from the coincidence matrix; units with fewer than two values are not pairable and ignored.
    Krippendorff's reliability-data example (12 units, 4 coders) gives α = 0.743 nominal, 0.815 ordinal
    and 0.849 interval:

    >>> nan = float("nan")
    >>> data = [[1, 1, nan, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2], [1, 2, 3, 4],
    ...         [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [nan, 5, 5, 5], [nan, nan, 1, 1], [nan, 3, nan, nan]]
    >>> [round(krippendorff_alpha(data, lv), 3) for lv in ("nominal", "ordinal", "interval")]
    [0.743, 0.815, 0.849]
    """
    data = np.asarray(data, dtype=float)
    values, codes = np.unique(data[~np.isnan(data)], return_inverse=True)
    counts = np.zeros((data.shape[0], len(values)))
    rows = np.nonzero(~np.isnan(data))[0]
    np.add.at(counts, (rows, codes), 1)
    m = counts.sum(axis=1)
    counts, m = counts[m >= 2], m[m >= 2]
    if len(counts) == 0 or len(values) < 2:
        return float("nan")
    weighted = counts / (m - 1)[:, None]
    coincidence = counts.T @ weighted - np.diag(weighted.sum(axis=0))
    totals = coincidence.sum(axis=1)
    n = totals.sum()
    d2 = _delta2(values, totals, level)
    expected = float(totals @ d2 @ totals)
    return float("nan") if expected == 0 else float(1 - (n - 1) * (coincidence * d2).sum() / expected)


# ---------------------------------------------------------------- label matrices from a bundle

def item_labels(frame: pd.DataFrame, protocol: str) -> pd.DataFrame:
    """``key`` (item) and numeric ``label`` per row: the rating, or the canonical ranking grade."""
    if protocol == "ratings":
        return pd.DataFrame({"key": response_key(frame), "label": frame["rating"].to_numpy(dtype=float)})
    key, labels = canonical_labels(frame)
    return pd.DataFrame({"key": key, "label": pd.Series(labels, dtype=object).map(GRADE).to_numpy(float)})


def _rows(feedback: Feedback, protocol: str) -> pd.DataFrame:
    return feedback.ratings if protocol == "ratings" else feedback.rankings


def label_matrix(feedback: Feedback, protocol: str) -> pd.DataFrame:
    """Items × annotators of the human labels of one protocol (NaN where unlabelled)."""
    rows = _rows(feedback, protocol)
    human = rows[rows["judge"] == HUMAN]
    labels = item_labels(human, protocol).assign(annotator=human["annotator"].to_numpy())
    return labels.pivot_table(index="key", columns="annotator", values="label", aggfunc="first", sort=False)


def _llm_labels(feedback: Feedback, protocol: str, llm: str) -> pd.Series:
    rows = source_ratings(feedback, llm) if protocol == "ratings" else source_rankings(feedback, llm)
    labels = item_labels(rows, protocol)
    return pd.Series(labels["label"].to_numpy(), index=labels["key"].to_numpy())


def pairwise_kappas(matrix: pd.DataFrame) -> pd.DataFrame:
    """Cohen's κ and percent agreement for every pair of annotators on the items both labelled."""
    rows = []
    for a, b in itertools.combinations(matrix.columns, 2):
        both = matrix[[a, b]].dropna()
        rows.append({"annotator_a": a, "annotator_b": b, "n": len(both),
                     "agreement": 100 * float((both[a] == both[b]).mean()) if len(both) else float("nan"),
                     "kappa": cohen_kappa(both[a], both[b])})
    return pd.DataFrame(rows, columns=["annotator_a", "annotator_b", "n", "agreement", "kappa"])


def _fleiss_counts(matrix: pd.DataFrame) -> np.ndarray:
    stacked = matrix.stack().reset_index()
    stacked.columns = ["key", "annotator", "label"]
    return pd.crosstab(stacked["key"], stacked["label"]).to_numpy()


def agreement_summary(feedback: Feedback, llm: str = LLM) -> pd.DataFrame:
    """One row per protocol: inter-annotator κ/α and human-vs-LLM agreement.

    ``human_llm_*`` pair every human annotation with the LLM's label on the same item;
    ``majority_llm_kappa`` compares the majority of humans with the LLM.
    """
    out = []
    for protocol in PROTOCOLS:
        matrix = label_matrix(feedback, protocol)
        kappas = pairwise_kappas(matrix)
        llm_labels = _llm_labels(feedback, protocol, llm)
        stacked = matrix.stack()
        keys = stacked.index.get_level_values(0)
        theirs = llm_labels.reindex(keys).to_numpy()
        matched = ~np.isnan(theirs)
        human, machine = stacked.to_numpy()[matched], theirs[matched]
        majority = _llm_labels(feedback, protocol, MAJORITY)
        shared = majority.index.intersection(llm_labels.index)
        out.append({
            "protocol": protocol, "annotators": matrix.shape[1],
            "items_multi": int((matrix.notna().sum(axis=1) >= 2).sum()),
            "mean_cohen_kappa": float(kappas["kappa"].mean()) if len(kappas) else float("nan"),
            "fleiss_kappa": fleiss_kappa(_fleiss_counts(matrix)) if len(matrix) else float("nan"),
            "krippendorff_alpha": krippendorff_alpha(matrix.to_numpy(float),
                                                     "ordinal" if protocol == "ratings" else "nominal")
            if len(matrix) else float("nan"),
            "alpha_level": "ordinal" if protocol == "ratings" else "nominal",
            "human_llm_n": int(matched.sum()),
            "human_llm_agreement": 100 * float((human == machine).mean()) if matched.any() else float("nan"),
            "human_llm_kappa": cohen_kappa(human, machine),
            "majority_llm_kappa": cohen_kappa(majority.reindex(shared), llm_labels.reindex(shared)),
        })
    return pd.DataFrame(out)


def _agreement_with_others(matrix: pd.DataFrame) -> pd.Series:
    """Per annotator: percent of (their label, another annotator's label) pairs on shared items that match."""
    values = matrix.to_numpy(float)
    present = ~np.isnan(values)
    result = {}
    for j, name in enumerate(matrix.columns):
        mine = values[:, j][:, None]
        others = np.delete(values, j, axis=1)
        mask = np.delete(present, j, axis=1) & present[:, j][:, None]
        total = mask.sum()
        result[name] = 100 * float(((others == mine) & mask).sum() / total) if total else float("nan")
    return pd.Series(result, dtype=float)


def _agreement_with_llm(matrix: pd.DataFrame, llm_labels: pd.Series) -> pd.Series:
    theirs = llm_labels.reindex(matrix.index).to_numpy()[:, None]
    values = matrix.to_numpy(float)
    mask = ~np.isnan(values) & ~np.isnan(theirs)
    n = mask.sum(axis=0)
    agree = ((values == theirs) & mask).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.Series(np.where(n > 0, 100 * agree / np.maximum(n, 1), np.nan), index=matrix.columns)


def annotator_table(feedback: Feedback, llm: str = LLM) -> pd.DataFrame:
    """Per annotator: items labelled, agreement with the other annotators and with the LLM, median time."""
    annotators = feedback.annotators()
    table = pd.DataFrame({"annotator": annotators}).set_index("annotator")
    for protocol in PROTOCOLS:
        matrix = label_matrix(feedback, protocol)
        table[f"{protocol}_items"] = matrix.notna().sum(axis=0).reindex(annotators).fillna(0).astype(int)
        table[f"{protocol}_agreement_others"] = _agreement_with_others(matrix).reindex(annotators)
        table[f"{protocol}_agreement_llm"] = _agreement_with_llm(
            matrix, _llm_labels(feedback, protocol, llm)).reindex(annotators)
    seconds = pd.concat([f.loc[f["judge"] == HUMAN, ["annotator", "seconds"]]
                         for f in (feedback.ratings, feedback.rankings)])
    table["median_seconds"] = seconds.groupby("annotator")["seconds"].median().reindex(annotators)
    return table.reset_index()


def agreement_sources(feedback: Feedback) -> list[str]:
    """The sources compared pairwise: every LLM, then (with humans) their majority and each annotator."""
    annotators = feedback.annotators()
    return feedback.llm_names() + ([MAJORITY] + [ANNOTATOR + a for a in annotators] if annotators else [])


def source_agreement(feedback: Feedback, protocol: str) -> pd.DataFrame:
    """Cohen's κ and Krippendorff's α (ordinal for ratings, nominal for rankings) of every pair of sources on
    the items both labelled, diagonal included: one row per (source_a, source_b), symmetric."""
    level = "ordinal" if protocol == "ratings" else "nominal"
    sources = agreement_sources(feedback)
    labels = {s: _llm_labels(feedback, protocol, s).dropna() for s in sources}
    labels = {s: v[~v.index.duplicated()] for s, v in labels.items()}
    rows = []
    for a, b in itertools.product(sources, repeat=2):
        shared = labels[a].index.intersection(labels[b].index)
        x, y = labels[a].reindex(shared).to_numpy(), labels[b].reindex(shared).to_numpy()
        rows.append({"protocol": protocol, "source_a": a, "source_b": b, "n": len(shared),
                     "kappa": cohen_kappa(x, y) if len(shared) else float("nan"),
                     "alpha": krippendorff_alpha(np.column_stack([x, y]), level) if len(shared) else float("nan")})
    return pd.DataFrame(rows, columns=["protocol", "source_a", "source_b", "n", "kappa", "alpha"])
