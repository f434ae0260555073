"""One module per app tab. Each exposes ``build(store, shell)`` (called inside ``gr.Blocks``) and its
event handlers as plain module functions taking ``(store, access, ..., request)``."""

import functools
import inspect
from dataclasses import dataclass, field

import gradio as gr

from sparse_feedback.errors import UserError
from sparse_feedback.ui.access import Access
from sparse_feedback.ui.failures import DEFAULT_FAILURE, failure_message, malformed_value


class Blocks(gr.Blocks):
    """``gr.Blocks`` whose refusal of a malformed value (Gradio checks each value against its component before any
    handler runs: a choice the form does not offer, a number out of range, a value of the wrong type) is the
    project's own sentence; Gradio's text, which names Python types, goes to the server log only."""

    async def preprocess_data(self, block_fn, inputs, state, explicit_call=False):
        try:
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        except Exception as err:  # noqa: BLE001 - whatever Gradio refused, the client gets one plain line
            raise gr.Error(malformed_value(err, block_fn.api_name), print_exception=False) from None


@dataclass
class Shell:
    """The components every tab shares: the sign-in policy, the project picker and (open mode) the name box."""

    access: Access
    project: gr.Dropdown
    name: gr.Textbox
    admin_tabs: list
    # (api name, handler, inputs, outputs) run once the visitor is known: choices naming server data (runs, model
    # folders, jobs) are filled here, never at build time, so the page served before sign-in carries none. Handlers take
    # (name, request) and answer non-admins with no-op updates.
    after_sign_in: list = field(default_factory=list)


def guarded(fn=None, *, failed: str = DEFAULT_FAILURE, also: tuple = ()):
    """Turn refusals (not signed in, not yours, any :class:`UserError`; ``also``: more exception types) into one
    line the UI shows; no traceback. Any other failure shows only ``failed`` and a reference id (details in the
    server log, never the client's). Use as ``@guarded`` or ``@guarded(failed="could not save your answer; it
    was not recorded")``."""
    if fn is None:
        return functools.partial(guarded, failed=failed, also=also)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (PermissionError, UserError, *also) as err:
            raise gr.Error(str(err), print_exception=False) from None
        except gr.Error:
            raise
        except Exception as err:  # noqa: BLE001 - the server log gets it in full
            raise gr.Error(failure_message(err, failed), print_exception=False) from None

    return wrapper


def stop_handler(stop_job, missing: str, job_id=int):
    """The Stop button of a job tab: ``stop_job(store, job_id(value))`` for whoever may run jobs; ``missing``
    when no job is chosen."""

    @guarded
    def stop(store, access, name, value, request: gr.Request):
        access.require(request, name, "jobs")
        return stop_job(store, job_id(value)) if value else missing

    return stop


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
