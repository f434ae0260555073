"""Plumbing shared by the researcher dashboards (Consistency, Disagreements, Agreement, Bias, Win-rates).

Each dashboard's handlers are plain functions ``handler(store, project, ...)`` that call only
``sparse_feedback``; :func:`researcher` wraps one for Gradio so only a researcher (admin) can call it.
"""

import functools
import inspect

import gradio as gr

from pages import guarded, no_updates
from sparse_feedback.analysis.sources import Feedback, frames_from_store
from sparse_feedback.errors import InputError


def feedback(store, project: str) -> Feedback:
    """The chosen project's feedback bundle (an error the UI shows when none is chosen)."""
    if not project:
        raise InputError("project", "choose a project first")
    return frames_from_store(store, project)


def researcher(fn, store, access, quiet: int = 0):
    """``fn(store, project, *inputs)`` as a Gradio callback ``(name, project, *inputs, request)`` that first
    checks the visitor is a researcher (admin) and turns refusals and bad input into a shown message.

    ``quiet=n`` is for events every visitor fires (a project change): a non-researcher gets n no-op updates.
    """
    params = list(inspect.signature(fn).parameters.values())[1:]  # without store

    name = inspect.Parameter("name", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    request = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=gr.Request,
                                default=None)
    signature = inspect.Signature([name, *params, request])

    @functools.wraps(fn)
    def handler(*args, **kwargs):
        given = signature.bind(*args, **kwargs).arguments
        if access is not None:
            try:
                access.require(given.get("request"), given["name"], "view", given.get("project"))
            except PermissionError as err:
                if quiet:
                    return no_updates(quiet)
                raise gr.Error(str(err), print_exception=False) from None
        return guarded(fn, also=(LookupError,))(store, *(given[p.name] for p in params if p.name in given))

    handler.__signature__ = signature
    handler.__annotations__ = {"request": gr.Request}  # Gradio finds the request to pass by this hint
    return handler


def pickers(shell, intro: str):
    """The tab's intro, then (access, name box, project picker): the app's shared components, or
    standalone ones without a shell."""
    gr.Markdown(intro)
    if shell is not None:
        return shell.access, shell.name, shell.project
    project = gr.Dropdown(label="Project", allow_custom_value=True)
    return None, gr.Textbox(visible=False), project


def on_open(fn, store, access, project, inputs, outputs, tab=None) -> None:
    """Show the tab's default view as soon as a project is set (right after sign-in, then on every change),
    before any button is clicked, and again each time ``tab`` is opened (answers given since, a new annotator
    among the sources: nothing stale until a reload); a visitor whose role may not view gets no-op updates. In
    open local mode (nobody signs in, every typed name is an admin) it shows before a name is typed."""
    local = access is not None and access.open and access.local
    handler = researcher(fn, store, None if local else access, quiet=len(outputs))
    project.change(handler, inputs, outputs, api_visibility="private")
    if tab is not None:
        tab.select(handler, inputs, outputs, api_visibility="private")
