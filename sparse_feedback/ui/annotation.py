"""The Rate and Rank views: what one annotator sees, and what submit / undo / skip show next.

After each answer the view carries the LLM judge's verdict on the same item next to the human's,
translated into what the annotator saw (left/right) for rankings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sparse_feedback.store import Store, StoreError, Task
from sparse_feedback.store.annotate import stored_to_shown
from sparse_feedback.ui.access import Identity
from sparse_feedback.ui.render import quoted, safe_markdown


@dataclass
class View:
    """Everything a Rate or Rank tab shows. ``ticket`` identifies the task on screen for the next answer."""

    guideline: str = ""
    progress: str = ""
    instruction: str = ""
    input: str = ""
    response: str = ""  # ratings
    left: str = ""  # rankings
    right: str = ""
    ticket: dict = field(default_factory=dict)
    result: str = ""


def _progress_line(store: Store, who: Identity, project: str, protocol: str) -> str:
    p = store.progress(project, who.name, protocol)
    return (f"**{safe_markdown(who.name)}** · {protocol}: **{p.done} done / {p.assigned} assigned**"
            + (f" · {p.skipped} skipped" if p.skipped else ""))


def show(store: Store, who: Identity, project: str | None, protocol: str, result: str = "") -> View:
    """The annotator's current task (resumed if one is open) with guideline and progress."""
    if not project:
        return View(progress="No project yet: an admin can create one in the Import tab.", result=result)
    view = View(guideline=store.guideline(project), progress=_progress_line(store, who, project, protocol), result=result)
    return _fill(view, store.next_task(project, who.name, protocol), protocol)


def _fill(view: View, task: Task | None, protocol: str) -> View:
    if task is None:
        view.instruction = "🎉 **Your queue is empty** — nothing left to " + ("rate." if protocol == "ratings" else "rank.")
        return view
    view.instruction = quoted("Instruction", task.instruction)
    view.input = quoted("Input", task.input)
    if protocol == "ratings":
        view.response = quoted("Response", task.response)
    else:
        view.left, view.right = quoted("Left", task.left), quoted("Right", task.right)
    view.ticket = _ticket(task)
    return view


def _ticket(task: Task) -> dict:
    return {"assignment_id": task.assignment_id, "submit_id": task.submit_id, "task_id": task.task_id}


def _ticket_ids(ticket: dict | None) -> tuple[int, str | None]:
    if not ticket or "assignment_id" not in ticket:
        raise StoreError("no task on screen: reload the page")
    try:
        return int(ticket["assignment_id"]), (str(ticket["submit_id"]) if ticket.get("submit_id") else None)
    except (TypeError, ValueError):
        raise StoreError("the task reference is malformed: reload the page") from None


def comparison(store: Store, sub) -> str:
    """Human vs LLM on the item just answered, as markdown."""
    llm = store.llm_feedback_for(sub.protocol, sub.task_id)
    if sub.protocol == "ratings":
        you = f"**You:** {sub.value}/7"
        theirs = [f"**LLM ({safe_markdown(f['model'])}):** {f['value']}/7" for f in llm]
    else:
        you = f"**You:** {sub.shown}"
        theirs = [f"**LLM ({safe_markdown(f['model'])}, judged {'right-first' if f['reversed'] != sub.swapped else 'as shown'}):** "
                  f"{stored_to_shown(f['value'], sub.swapped)}" for f in llm]
    return " · ".join([you, *(theirs or ["_no LLM judgement for this item_"])])


def answer(store: Store, who: Identity, project: str, protocol: str, ticket: dict, choice) -> View:
    """Store the answer and take the next task in one transaction (committed before this returns), then
    show the next task and the comparison."""
    assignment_id, submit_id = _ticket_ids(ticket)
    if not project:
        raise StoreError("choose a project first")
    sub, task = store.submit_and_next(project, who.name, protocol, assignment_id, choice, submit_id=submit_id)
    view = View(guideline=store.guideline(project), progress=_progress_line(store, who, project, protocol),
                result="Previous item — " + comparison(store, sub))
    return _fill(view, task, protocol)


def undo(store: Store, who: Identity, project: str, protocol: str) -> View:
    """Withdraw the last answer and show that item again."""
    sub = store.undo_last(project, who.name, protocol)
    return show(store, who, project, protocol, result="Undone: answer it again." if sub else "Nothing to undo.")


def skip(store: Store, who: Identity, project: str, protocol: str, ticket: dict) -> View:
    assignment_id, _ = _ticket_ids(ticket)
    store.skip(who.name, assignment_id)
    return show(store, who, project, protocol, result="Skipped.")
