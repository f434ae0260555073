"""Rate tab: one response at a time, 1-7 (keys 1-7; U undo, S skip), with optional comment and flags."""

import gradio as gr

from pages import Shell, annotate


def _buttons():
    return [(gr.Button(str(n), elem_id=f"rate-{n}", variant="secondary", min_width=60),
             str(n)) for n in range(1, 8)]


def build(store, shell: Shell):
    return annotate.build(store, shell, "ratings", _buttons, "Keys: **1**-**7** rate")
