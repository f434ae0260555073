"""Key bindings for the Rate and Rank tabs, injected into the page head.

Keys click the visible button with the matching ``elem_id``, so the keyboard and the mouse run the
same event (and the same server-side checks). A key never acts while the caret is in a text field (the
name box, the comment, a dropdown), inside an ``sf-nokeys`` panel (the edit form of earlier answers), or
before a name (open mode) and a project are set. Enter in the name box and Esc in any text field move the
focus to the task, so the next key answers it instead of typing.
"""

import json

KEYS = {
    **{str(n): [f"rate-{n}"] for n in range(1, 8)},
    "a": ["rank-left"], "arrowleft": ["rank-left"],
    "b": ["rank-right"], "arrowright": ["rank-right"],
    "e": ["rank-equal"], "arrowdown": ["rank-equal"],
    "u": ["rate-undo", "rank-undo"],
    "s": ["rate-skip", "rank-skip"],
}
NAME_BOX = "#annotator-name textarea, #annotator-name input"
COMPLETION_LINK = "Continue to the completion page"  # a study's completed view: followed after a few seconds
PROJECT_BOX = "#project input"

_SCRIPT = """<script>
(() => {
  const KEYS = %(keys)s;
  const NOT_TYPING = ["checkbox", "radio", "button", "submit", "reset", "range", "color", "file"];
  const typing = (t) => t && (t.isContentEditable || ["TEXTAREA", "SELECT"].includes(t.tagName) ||
                              (t.tagName === "INPUT" && !NOT_TYPING.includes((t.type || "text").toLowerCase())));
  const shown = (el) => el && el.offsetParent !== null;
  const nameBox = () => document.querySelector(%(name)s);
  const projectBox = () => document.querySelector(%(project)s);
  // Ready to answer: the name is typed (when the box is shown) and a project is picked.
  const ready = () => {
    const name = nameBox(), project = projectBox();
    return !(shown(name) && !name.value.trim()) && !(project && !project.value.trim());
  };
  const focusTask = () => {
    const task = [...document.querySelectorAll(".sf-task")].find(shown);
    if (!task) return;
    task.setAttribute("tabindex", "-1");
    task.focus({preventScroll: true});
  };
  document.addEventListener("keydown", (ev) => {
    const t = ev.target;
    if (ev.key === "Enter" && t && t.closest && t.closest("#annotator-name")) {
      if (t.value.trim()) setTimeout(() => { t.blur(); focusTask(); }, 0);  // after Gradio's own submit
      return;
    }
    if (ev.key === "Escape" && typing(t) && !(t.closest && t.closest(".sf-nokeys"))) {
      t.blur(); focusTask(); return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.repeat) return;
    if (typing(t) || (t && t.closest && t.closest(".sf-nokeys"))) return;
    const ids = KEYS[ev.key.toLowerCase()];
    if (!ids || !ready()) return;
    for (const id of ids) {
      const el = document.getElementById(id);
      if (shown(el) && !el.disabled) { ev.preventDefault(); el.click(); return; }
    }
  });
  let leaving = false;
  setInterval(() => {
    const link = [...document.querySelectorAll(".sf-task a")]
      .find((a) => shown(a) && a.textContent.trim() === %(done)s);
    if (link && !leaving) { leaving = true; setTimeout(() => { window.location.href = link.href; }, 3000); }
  }, 1000);
})();
</script>"""


def head_script() -> str:
    """A ``<script>`` for ``gr.Blocks(head=...)`` / ``launch(head=...)``."""
    return _SCRIPT % {"keys": json.dumps(KEYS), "name": json.dumps(NAME_BOX), "project": json.dumps(PROJECT_BOX),
                      "done": json.dumps(COMPLETION_LINK)}
