"""The Rate and Rank views: what one annotator sees, and what submit / undo / skip show next.

After each answer the view carries the LLM judge's verdict on the same item next to the human's,
translated into what the annotator saw (left/right) for rankings. An optional comment and flags go with
each answer; the boxes are emptied for the next task (and refilled by an undo).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sparse_feedback.store import Store, StoreError, Task
from sparse_feedback.store.annotate import stored_to_shown
from sparse_feedback.store.limits import FLAGS
from sparse_feedback.study import assignment, links
from sparse_feedback.ui.access import Identity
from sparse_feedback.ui.keyboard import COMPLETION_LINK
from sparse_feedback.ui.render import quoted, safe_markdown


# The flag boxes as labelled on screen, in the store's order (``limits.FLAGS``).
FLAG_CHOICES = [(flag.replace("-", " ").capitalize(), flag) for flag in FLAGS]


def flag_list(flags: str) -> list[str]:
    """The stored comma-separated flags as the list a checkbox group takes.

    >>> flag_list("unclear,bad-response"), flag_list("")
    (['unclear', 'bad-response'], [])
    """
    return [f for f in flags.split(",") if f]


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
    comment: str = ""  # the comment and flag boxes (empty for a new task)
    flags: list = field(default_factory=list)
    offer: bool = False  # show "Annotate myself": an admin or researcher who has not asked for tasks yet


def _progress_line(store: Store, who: Identity, project: str, protocol: str) -> str:
    if who.study:  # a participant's queue is their quota, across both protocols
        return links.progress_note(store, who.name)
    p = store.progress(project, who.name, protocol)
    return (f"**{safe_markdown(who.name)}** · {protocol}: **{p.done} done / {p.assigned} assigned**"
            + (f" · {p.skipped} skipped" if p.skipped else ""))


def _completed(store: Store, who: Identity, view: View) -> View | None:
    """A participant whose quota is met: the view with their completion code (and the platform's link)."""
    done = links.completion(store, who.name) if who.study else None
    if done is None:
        return None
    code = safe_markdown(done["completion_code"])
    view.instruction = (f"**Thank you: the study is complete.** Your completion code is **{code}**"
                        + (f"\n\n[{COMPLETION_LINK}]({done['redirect_url']})" if done["redirect_url"] else ""))
    view.input = view.response = view.left = view.right = ""
    view.ticket = {}
    return view


def asked(store: Store, who: Identity, project: str, protocol: str) -> bool:
    """Whether ``who`` takes tasks here: their role does (:attr:`Identity.takes_tasks`), or they asked before
    (an answer, a skip or an open task of theirs in this project and protocol)."""
    if who.takes_tasks:
        return True
    p = store.progress(project, who.name, protocol)
    return p.done + p.skipped + p.open > 0


def not_asked(who: Identity, protocol: str) -> str:
    """What an admin or researcher sees instead of a task until they ask for one."""
    verb = "rate" if protocol == "ratings" else "rank"
    return (f"**Tasks go to annotators.** As {'an' if who.role[0] in 'aeiou' else 'a'} {who.role} you are not "
            f"handed one for looking at this tab, so none is held from the team. To {verb} yourself, choose "
            "**Annotate myself**: you then take tasks from this project's queue like an annotator.")


def show(store: Store, who: Identity, project: str | None, protocol: str, result: str = "",
         take: bool = False) -> View:
    """The annotator's current task (resumed if one is open) with guideline and progress. An admin or
    researcher who has not asked (``take``, or earlier tasks of theirs) is offered "Annotate myself" instead."""
    if not project:
        return View(progress="No project yet: an admin can create one in the Import tab.", result=result)
    view = View(guideline=store.guideline(project), progress=_progress_line(store, who, project, protocol), result=result)
    if not (take or asked(store, who, project, protocol)):
        view.instruction, view.offer = not_asked(who, protocol), True
        return view
    task = assignment.next_task(store, project, who.name, protocol)
    return (task is None and _completed(store, who, view)) or _fill(view, task, protocol)


def _fill(view: View, task: Task | None, protocol: str) -> View:
    if task is None:
        view.instruction = "**Your queue is empty**: nothing left to " + ("rate." if protocol == "ratings" else "rank.")
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


def _ticket_ids(ticket: dict) -> tuple[int, str | None]:
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


def _need_project(project: str | None) -> None:
    if not project:
        raise StoreError("choose a project first")


def _nothing_on_screen(store: Store, who: Identity, project: str | None, protocol: str, ticket) -> View | None:
    """When no task was on screen (a key pressed before it loaded, or with an empty queue): the current view,
    saying nothing was recorded; else None."""
    if isinstance(ticket, dict) and "assignment_id" in ticket:
        return None
    view = show(store, who, project, protocol)
    view.result = ("Nothing recorded: no task was on screen; it is shown now." if view.ticket else
                   "Nothing recorded: there is no task to answer.")
    return view


def answer(store: Store, who: Identity, project: str, protocol: str, ticket: dict, choice, comment: str = "",
           flags=()) -> View:
    """Store the answer (with the optional comment and flags) and take the next task in one transaction
    (committed before this returns), then show the next task and the comparison."""
    _need_project(project)
    if (view := _nothing_on_screen(store, who, project, protocol, ticket)) is not None:
        return view
    assignment_id, submit_id = _ticket_ids(ticket)
    sub, task = assignment.submit_and_next(store, project, who.name, protocol, assignment_id, choice,
                                           submit_id=submit_id, comment=comment, flags=flags)
    view = View(guideline=store.guideline(project), progress=_progress_line(store, who, project, protocol),
                result="Previous item — " + comparison(store, sub))
    return (task is None and _completed(store, who, view)) or _fill(view, task, protocol)


def undo(store: Store, who: Identity, project: str, protocol: str) -> View:
    """Withdraw the last answer and show that item again, with the comment and flags it had."""
    _need_project(project)
    sub = store.undo_last(project, who.name, protocol)
    view = show(store, who, project, protocol, result="Undone: answer it again." if sub else "Nothing to undo.")
    if sub is not None:
        view.comment, view.flags = sub.comment, flag_list(sub.flags)
    return view


def skip(store: Store, who: Identity, project: str, protocol: str, ticket: dict) -> View:
    _need_project(project)
    if (view := _nothing_on_screen(store, who, project, protocol, ticket)) is not None:
        return view
    assignment_id, _ = _ticket_ids(ticket)
    store.skip(who.name, assignment_id)
    return show(store, who, project, protocol, result="Skipped.")
