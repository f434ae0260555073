"""What the Gradio pages share: who is calling, safe rendering, the annotation views and key bindings.

Everything here is plain Python over the store, so the pages stay thin and the logic is testable
without a browser.
"""
