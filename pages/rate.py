"""Rate tab: one response at a time, 1-7 (keys 1-7; U undo, S skip)."""

import gradio as gr

from pages import Shell
from pages.annotate import task_panel, wire


def build(store, shell: Shell):
    outputs, ticket = task_panel("ratings")
    with gr.Row():
        buttons = [(gr.Button(str(n), elem_id=f"rate-{n}", variant="primary" if n in (1, 7) else "secondary",
                              min_width=60), str(n)) for n in range(1, 8)]
    with gr.Row():
        undo_btn = gr.Button("↶ Undo (U)", elem_id="rate-undo", size="sm")
        skip_btn = gr.Button("Skip (S)", elem_id="rate-skip", size="sm")
    gr.Markdown("Keys: **1–7** rate · **U** undo · **S** skip", elem_classes=["sf-hint"])
    return wire(store, shell, "ratings", buttons, undo_btn, skip_btn, outputs, ticket), outputs
