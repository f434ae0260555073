"""Rank tab: two responses side by side in a random order (keys A/←, B/→, E/↓; U undo, S skip)."""

import gradio as gr

from pages import Shell
from pages.annotate import task_panel, wire


def build(store, shell: Shell):
    outputs, ticket = task_panel("rankings")
    with gr.Row():
        buttons = [(gr.Button("◀ Left is better (A)", elem_id="rank-left", variant="primary"), "left"),
                   (gr.Button("Equal (E)", elem_id="rank-equal"), "equal"),
                   (gr.Button("Right is better (B) ▶", elem_id="rank-right", variant="primary"), "right")]
    with gr.Row():
        undo_btn = gr.Button("↶ Undo (U)", elem_id="rank-undo", size="sm")
        skip_btn = gr.Button("Skip (S)", elem_id="rank-skip", size="sm")
    gr.Markdown("Keys: **A** / **←** left · **B** / **→** right · **E** / **↓** equal · **U** undo · **S** skip",
                elem_classes=["sf-hint"])
    return wire(store, shell, "rankings", buttons, undo_btn, skip_btn, outputs, ticket), outputs
