"""Admin tab: edit the guideline and overlap, see everyone's progress, coverage and jobs; the human-study panel."""

import gradio as gr

from pages import Shell, admin_only, bind, guarded, study
from pages import queue as queue_section
from sparse_feedback.report.tables import jobs_table, readable
from sparse_feedback.ui.coverage import coverage_line


@guarded
def load(store, access, name, project, request: gr.Request):
    """(guideline, overlap, everyone's progress, coverage, jobs) for the chosen project."""
    access.admin(request, name)
    if not project:
        return "", 1, None, "No project.", jobs_table(store.jobs())
    p = store.project(project)
    coverage = coverage_line(store.coverage(project), p.overlap)
    return p.guideline, p.overlap, readable(store.everyone_progress(project)), coverage, jobs_table(store.jobs())


@guarded
def save(store, access, name, project, guideline, overlap, request: gr.Request):
    access.admin(request, name)
    store.set_guideline(project, guideline or "")
    store.set_overlap(project, int(overlap or 1))
    return f"Saved guideline and overlap ({int(overlap or 1)}) for **{project}**."


def build(store, shell: Shell):
    access = shell.access
    guideline = gr.Textbox(label="Guideline (markdown)", lines=10)
    overlap = gr.Number(precision=0, minimum=1, label="Annotators per task (overlap k)")
    save_btn = gr.Button("Save", variant="primary")
    message = gr.Markdown()
    coverage = gr.Markdown(elem_id="admin-coverage")
    progress = gr.Dataframe(label="Everyone's progress", interactive=False)
    jobs = gr.Dataframe(label="Jobs", interactive=False, wrap=True,
                        column_widths=["5%", "9%", "7%", "49%", "12%", "18%"], elem_id="admin-jobs")
    refresh = gr.Button("Refresh", size="sm")
    outputs = [guideline, overlap, progress, coverage, jobs]
    loader = bind(load, store, access)
    refresh.click(loader, [shell.name, shell.project], outputs, api_name="admin_load")
    shell.project.change(admin_only(loader, len(outputs)), [shell.name, shell.project], outputs, api_visibility="private",
                         api_name="admin_on_project")
    save_btn.click(bind(save, store, access), [shell.name, shell.project, guideline, overlap], message,
                   api_name="admin_save")
    study.build(store, shell)
    queue_section.build(store, shell)
    return loader, outputs
