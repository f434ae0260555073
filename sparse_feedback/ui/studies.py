"""The Admin tab's study panel: settings, gold, the quality table, exclusion, study links and the study log."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sparse_feedback.formats import normalize_label
from sparse_feedback.protocols import flip
from sparse_feedback.store.limits import StoreError
from sparse_feedback.study import exclusion, gold, links
from sparse_feedback.study.quality import project_quality
from sparse_feedback.ui.render import safe_markdown

# The quality table as the Admin tab shows it: (column, heading).
SHOWN = [("annotator", "annotator"), ("answers", "answers"), ("median_seconds", "median s"), ("fast", "fast"),
         ("gold_n", "gold"), ("gold_accuracy", "gold acc."), ("gold_ratings_exact", "gold ratings exact"),
         ("gold_rankings_exact", "gold rankings exact"), ("alpha_ratings_delta", "alpha ratings +/-"),
         ("alpha_rankings_delta", "alpha rankings +/-"), ("kappa_ratings", "kappa ratings"),
         ("kappa_rankings", "kappa rankings"), ("llm_ratings_within1", "LLM ratings +/-1"),
         ("llm_rankings_agree", "LLM rankings"), ("left_share", "left share"), ("longest_run", "longest run"),
         ("consistency", "own consistency %"), ("consistency_low", "95% low"), ("consistency_high", "95% high"),
         ("flags", "flags"), ("excluded", "excluded")]
FAST_SHOWN = 100  # the fast answers listed on screen (newest first); the count says how many there are


@dataclass
class Panel:
    gold_every: int = 0
    paired: bool = False
    fast_seconds: float = 0.0
    summary: str = ""
    quality: pd.DataFrame | None = None
    items: pd.DataFrame | None = None
    links: pd.DataFrame | None = None
    log: pd.DataFrame | None = None
    annotators: list | None = None
    fast_note: str = ""
    fast: pd.DataFrame | None = None


def used_note(store, project: str) -> str:
    """What a human figure is built from: ``Human figures use human answers of 5 annotators (1 excluded)``."""
    return f"Human figures use {exclusion.annotators_used(store, project)}"


def shown_table(table: pd.DataFrame) -> pd.DataFrame:
    """The quality table with readable headings and numbers rounded for the screen."""
    out = table[[c for c, _ in SHOWN]].rename(columns=dict(SHOWN))
    return out.round(3)


def fast_list(fast: pd.DataFrame, fast_seconds: float, cap: int = FAST_SHOWN) -> tuple[str, pd.DataFrame]:
    """The fast answers as the Admin tab lists them (newest first, at most ``cap``) and the line that counts them.

    >>> answers = pd.DataFrame({"annotator": ["a"], "protocol": ["rankings"], "item_id": [3], "response_index": [None],
    ...                         "index1": [0], "index2": [1], "seconds": [0.5], "created_at": ["2026-12-02 17:37:58.5"],
    ...                         "gold": [False], "excluded": [False]})
    >>> note, shown = fast_list(answers, 2)
    >>> note, shown["task"].tolist(), shown["when"].tolist()
    ('**1** answer under 2 s:', ['pair 0,1'], ['2026-12-02 17:37:58'])
    """
    head = fast.head(cap if fast_seconds > 0 else 0)
    task = [f"response {int(r)}" if p == "ratings" else f"pair {int(a)},{int(b)}"
            for p, r, a, b in zip(head["protocol"], head["response_index"], head["index1"], head["index2"])]
    when = pd.to_datetime(head["created_at"]).dt.strftime("%Y-%m-%d %H:%M:%S")
    shown = pd.DataFrame({"annotator": head["annotator"], "protocol": head["protocol"], "item id": head["item_id"],
                          "task": task, "seconds": head["seconds"].round(2), "when": when, "gold": head["gold"],
                          "excluded": head["excluded"]})
    if fast_seconds <= 0:
        return "Fast answers: set a threshold above (seconds) to list each answer faster than it.", shown
    n = len(fast)
    note = f"**{n}** answer{'s' * (n != 1)} under {fast_seconds:g} s" + (f" (newest {cap} listed):" if n > cap else ":")
    return note, shown


def panel(store, project: str) -> Panel:
    settings = store.study_settings(project)
    quality = project_quality(store, project)
    n_gold = len(store.gold_tasks(project))
    flagged = int((quality.table["flags"] != "").sum())
    summary = (f"**{n_gold}** gold tasks, one in every **{settings.gold_every}** served" if settings.gold_every
               else f"**{n_gold}** gold tasks, not mixed in (gold rate off)")
    summary += (f" · paired design **{'on' if settings.paired else 'off'}** · quality of **{quality.annotators}** "
                f"annotators, **{flagged}** flagged · figures use {exclusion.annotators_used(store, project)}")
    if quality.judge:
        summary += f" · judge columns compare with **{safe_markdown(quality.judge)}**"
    items = quality.items.rename(columns={"item_id": "item id", "median_seconds": "median s"})
    return Panel(settings.gold_every, settings.paired, settings.fast_seconds, summary, shown_table(quality.table),
                 items.round(2), store.study_links(project), store.study_log(project),
                 sorted(quality.table["annotator"]), *fast_list(quality.fast, settings.fast_seconds))


def save_settings(store, project: str, actor: str, gold_every, paired, fast_seconds) -> str:
    s = store.set_study_settings(project, actor, gold_every=int(gold_every or 0), paired=bool(paired),
                                 fast_seconds=float(fast_seconds or 0))
    return (f"Saved: gold {'1 in ' + str(s.gold_every) if s.gold_every else 'off'}, paired design "
            f"{'on' if s.paired else 'off'}, answers under {s.fast_seconds:g} s flagged.")


def import_gold_file(store, project: str, actor: str, path) -> str:
    if not path:
        return "Choose a gold file first (rating or ranking feedback columns)."
    protocol, n = gold.import_gold(store, project, path, actor)
    return f"Marked **{n}** {protocol} tasks as gold."


def mark_one(store, project: str, actor: str, item, responses: str, expected: str) -> str:
    """Mark one task as gold from the form: item number, ``"2"`` (a response) or ``"0,1"`` (a pair, (a) first),
    the expected rating (1-7) or label ((a), (b), equal)."""
    try:
        indices = tuple(int(x) for x in str(responses or "").replace(" ", "").split(",") if x != "")
        number = int(item)
    except (TypeError, ValueError):
        raise StoreError("item and responses are numbers: an item, then '2' (a response) or '0,1' (a pair)") from None
    protocol = "ratings" if len(indices) == 1 else "rankings"
    value = str(expected or "").strip()
    if protocol == "ratings" and value not in {str(n) for n in range(1, 8)}:
        raise StoreError("a rating task's expected answer is a rating from 1 to 7")
    label = normalize_label(value) if protocol == "rankings" else value
    if label is None:
        raise StoreError("a pair's expected answer is (a), (b) or equal")
    if protocol == "rankings" and indices[0] > indices[1]:
        label = flip(label)  # the pair is stored lower response first
    task_id = store.task_at(project, protocol, number, indices)
    store.set_gold(project, actor, [(protocol, task_id, label)])
    return f"Item {number}, responses {','.join(map(str, indices))}: gold, expected **{safe_markdown(label)}**."


def adjudicated_as_gold(store, project: str, actor: str) -> str:
    n = store.adjudicated_gold(project, actor)
    return f"Marked **{n}** adjudicated pairs as gold (expected answer: each pair's current decision)."


def set_exclusion(store, project: str, actor: str, names, exclude: bool, threshold=None) -> str:
    names = [n for n in (names or []) if n]
    if exclude and threshold not in (None, ""):
        done = exclusion.exclude_below(store, project, actor, float(threshold))
        done += exclusion.exclude(store, project, actor, names) if names else []
    elif exclude:
        done = exclusion.exclude(store, project, actor, names)
    else:
        done = exclusion.include(store, project, actor, names)
    verb = "Excluded" if exclude else "Included again"
    who = ", ".join(safe_markdown(n) for n in done) or "nobody (no change)"
    return f"{verb}: {who}. Figures now use {exclusion.annotators_used(store, project)}."


def new_link(store, project: str, actor: str, quota, code: str, redirect_url: str, host: str) -> str:
    made = links.create_link(store, project, actor, int(quota or 0), (code or "").strip() or None,
                             (redirect_url or "").strip())
    host = (host or "").strip() or "https://HOST"
    return (f"Study link **{made.link_id}** made (completion code **{safe_markdown(made.code)}**). The token is shown "
            f"only now; copy the link:\n\n- Prolific: `{links.prolific_url(host, made.token)}`\n"
            f"- any other platform: `{links.generic_url(host, made.token)}`")


def revoke_link(store, project: str, actor: str, link_id) -> str:
    store.revoke_study_link(project, actor, int(link_id))
    return f"Study link {int(link_id)} revoked: it now refuses everyone."
