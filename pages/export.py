"""Export tab (researchers, admins): human or LLM feedback in the original formats, as a zipped HF dataset, or TRL
pairs; the audit trail of every answer version (admins)."""

from typing import Optional

import gradio as gr

from pages import Shell, admin_only, bind, guarded
from sparse_feedback.ui import exports
from sparse_feedback.ui.hub import push_token


@guarded
def export(store, access, name, project, what, source, fmt, request: gr.Request):
    """Write one export and return (message, file to download)."""
    access.require(request, name, exports.capability(what), project)
    path, rows = exports.export_file(store, project, what, source, fmt)
    return f"Exported {rows} rows: `{path.name}`", str(path)


@guarded
def push(store, access, name, project, what, source, repo_id, private, request: gr.Request,
         oauth_token: Optional[gr.OAuthToken] = None):
    """Push one export to a Hub dataset repo (admins): the signed-in user's token, else HF_TOKEN."""
    access.require(request, name, "manage", project)
    return exports.push_export(store, project, what, source, repo_id, bool(private), push_token(oauth_token))


@guarded
def preview(store, access, name, project, what, source, fmt, request: gr.Request):
    """(line with the row count, the first rows) of the export as it would be written."""
    access.require(request, name, exports.capability(what), project)
    line, rows = exports.export_preview(store, project, what, source, fmt)
    return line, gr.update(value=rows, visible=True)


@guarded
def source_choices(store, access, name, project, request: gr.Request):
    access.require(request, name, "export", project)
    return gr.update(choices=exports.source_choices(store, project) if project else ["human", "llm"], value="human")


@guarded
def what_choices(store, access, name, request: gr.Request):
    """After sign-in: the exports this caller's role may take (a researcher is not offered the audit trail)."""
    who = access.require(request, name, "export")
    return gr.update(choices=exports.what_choices(who.can("manage")))


@guarded
def hub_visible(store, access, name, request: gr.Request):
    """After sign-in: the Hub push row for admins only."""
    return gr.update(visible=access.require(request, name, "export").can("manage"))


def build(store, shell: Shell):
    access = shell.access
    with gr.Row():
        # Open mode shows this tab only to the local admin; signed-in callers get their choices after sign-in.
        what = gr.Dropdown(exports.what_choices(access.open), value="ratings", label="What")
        source = gr.Dropdown(["human", "llm"], value="human", label="Source", allow_custom_value=False)
        fmt = gr.Dropdown(list(exports.FORMATS), value="csv", label="Format")
    with gr.Row():
        show = gr.Button("Preview", elem_id="export-preview-button")
        button = gr.Button("Export", variant="primary")
    summary = gr.Markdown(elem_id="export-preview-line")
    rows = gr.Dataframe(label="Preview: the first rows as written", interactive=False, wrap=True,
                        elem_id="export-preview", visible=False)  # shown with the first preview
    message = gr.Markdown(elem_id="export-message")
    out = gr.File(label="Download")
    with gr.Row(visible=access.open) as hub_row:  # admins: shown after sign-in
        repo = gr.Textbox(label="Hub dataset repo (OWNER/NAME)", elem_id="export-hub-repo")
        private = gr.Checkbox(True, label="Private repo")
        push_button = gr.Button("Push to Hub", elem_id="export-hub-push")
    chosen = [shell.name, shell.project, what, source, fmt]
    button.click(bind(export, store, access), chosen, [message, out], api_name="export")
    push_button.click(bind(push, store, access), [shell.name, shell.project, what, source, repo, private], message,
                      api_name="export_push")
    previewed = bind(preview, store, access)
    show.click(previewed, chosen, [summary, rows], api_name="export_preview", api_visibility="private")
    for label, picker in (("what", what), ("source", source), ("format", fmt)):  # preview the changed choice
        picker.input(previewed, chosen, [summary, rows], api_name=f"export_preview_on_{label}",
                     api_visibility="private", show_progress="hidden")
    shell.project.change(admin_only(bind(source_choices, store, access), 1), [shell.name, shell.project], source,
                         api_visibility="private", api_name="export_sources")
    shell.after_sign_in.append(("export_choices", admin_only(bind(what_choices, store, access), 1), [shell.name],
                                [what]))
    shell.after_sign_in.append(("export_hub", admin_only(bind(hub_visible, store, access), 1), [shell.name],
                                [hub_row]))
    return bind(source_choices, store, access), source
