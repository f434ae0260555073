"""Key bindings for the Rate and Rank tabs, injected into the page head.

Keys click the visible button with the matching ``elem_id``, so the keyboard and the mouse run the
same event (and the same server-side checks). Typing in a text field never triggers a binding.
"""

KEYS = {
    **{str(n): [f"rate-{n}"] for n in range(1, 8)},
    "a": ["rank-left"], "arrowleft": ["rank-left"],
    "b": ["rank-right"], "arrowright": ["rank-right"],
    "e": ["rank-equal"], "arrowdown": ["rank-equal"],
    "u": ["rate-undo", "rank-undo"],
    "s": ["rate-skip", "rank-skip"],
}


def head_script() -> str:
    """A ``<script>`` for ``gr.Blocks(head=...)`` / ``launch(head=...)``."""
    import json

    return """<script>
(() => {
  const KEYS = %s;
  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.repeat) return;
    const t = ev.target;
    if (t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName))) return;
    const ids = KEYS[ev.key.toLowerCase()];
    if (!ids) return;
    for (const id of ids) {
      const el = document.getElementById(id);
      if (el && el.offsetParent !== null && !el.disabled) { ev.preventDefault(); el.click(); return; }
    }
  });
})();
</script>""" % json.dumps(KEYS)
