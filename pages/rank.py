"""Rank tab: two responses side by side in a random order (keys A/Left, B/Right, E/Down; U undo, S skip), with
optional comment and flags."""

import gradio as gr

from pages import Shell, annotate


def _buttons():
    return [(gr.Button("Left is better (A)", elem_id="rank-left", variant="primary"), "left"),
            (gr.Button("Equal (E)", elem_id="rank-equal"), "equal"),
            (gr.Button("Right is better (B)", elem_id="rank-right", variant="primary"), "right")]


def build(store, shell: Shell):
    return annotate.build(store, shell, "rankings", _buttons,
                          "Keys: **A** or **Left arrow** left · **B** or **Right arrow** right · **E** or **Down arrow** equal")
