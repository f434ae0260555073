"""One module per app tab. Each exposes ``build(store, shell)`` (called inside ``gr.Blocks``) and its
event handlers as plain module functions taking ``(store, access, ..., request)``."""

import functools
import inspect
from dataclasses import dataclass

import gradio as gr

from sparse_feedback.errors import UserError
from sparse_feedback.ui.access import Access


@dataclass
class Shell:
    """The components every tab shares: the sign-in policy, the project picker and (open mode) the name box."""

    access: Access
    project: gr.Dropdown
    name: gr.Textbox
    admin_tabs: list


def guarded(fn, also: tuple = ()):
    """Turn refusals (not signed in, not yours, any :class:`UserError`) into one line the UI shows; no
    traceback. ``also``: more exception types to show that way."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (PermissionError, UserError, *also) as err:
            raise gr.Error(str(err), print_exception=False) from None

    return wrapper


def no_updates(n: int):
    """``n`` no-op updates (one bare update when ``n`` is 1): the answer to a visitor who may not act."""
    return tuple(gr.update() for _ in range(n)) if n > 1 else gr.update()


def bind(fn, *bound):
    """``fn`` with its leading (store, access, ...) arguments fixed. Unlike ``functools.partial`` the result
    is a plain function whose signature and type hints Gradio reads, so ``request: gr.Request`` is filled."""
    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def bound_fn(*args, **kwargs):
        return fn(*bound, *args, **kwargs)

    bound_fn.__signature__ = sig.replace(parameters=list(sig.parameters.values())[len(bound):])
    return bound_fn


def admin_only(fn, n_outputs: int):
    """For events every visitor triggers (a project change): non-admins get no-op updates, not an error."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            return no_updates(n_outputs)

    return wrapper
