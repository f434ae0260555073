"""sparse-feedback: humans rate and rank in the browser, side by side with an LLM judge.

``python app.py`` opens the store (``$SPARSE_FEEDBACK_HOME``), loads the demo project and the Best-of-n demo
(two reward models, a finished job) on first start and serves on ``$GRADIO_SERVER_NAME:$GRADIO_SERVER_PORT``
(Gradio's defaults otherwise).
"""

import sys
from pathlib import Path

from sparse_feedback.ui.serving import session_capacity, tune_gradio

tune_gradio()  # before Gradio reads its settings

import gradio as gr  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from pages import (  # noqa: E402
    Blocks, Shell, admin, agreement, best_of_n, bias, bind, consistency, disagreements, export, imports, llm, rank,
    rate, train, winrates,
)
from sparse_feedback.jobs import runner as jobs_runner  # noqa: E402
from sparse_feedback.settings import space_storage_note  # noqa: E402
from sparse_feedback.jobs import imports as import_jobs  # noqa: E402
from sparse_feedback.jobs.watch import Watch  # noqa: E402
from sparse_feedback.errors import EXIT_BAD_INPUT, UserError  # noqa: E402
from sparse_feedback.store import Store  # noqa: E402
from sparse_feedback.store.demo import DEMO_PROJECTS, ensure_demo  # noqa: E402
from sparse_feedback.ui.access import Access, AccessError  # noqa: E402
from sparse_feedback.ui.best_of_n_demo import ensure_best_of_n_demo  # noqa: E402
from sparse_feedback.ui.keyboard import head_script  # noqa: E402
from sparse_feedback.ui.refusals import PlainValidationErrors  # noqa: E402
from sparse_feedback.ui.signed_out import SignedOutPage  # noqa: E402
from sparse_feedback.ui.startup import check_start, trust_proxies  # noqa: E402
from sparse_feedback.ui.study_entry import StudyEntry  # noqa: E402
from sparse_feedback.ui.throttle import LoginThrottle  # noqa: E402
from sparse_feedback.ui.uploads import max_upload_bytes  # noqa: E402

ROOT = Path(__file__).resolve().parent
DEMO_DIR = ROOT / "assets" / "demo"
CSS_PATH = ROOT / "assets" / "style.css"


RESEARCH_TABS = (("Consistency", consistency), ("Disagreements", disagreements), ("Agreement", agreement),
                 ("Bias", bias), ("Win-rates", winrates))


def _first_tab(shown: list[bool], ids: tuple[str, ...]):
    """Select the first tab the caller may see, so the page opens on one of theirs (every tab starts hidden)."""
    return gr.update(selected=next((i for i, v in zip(ids, shown) if v), ids[0]))


def on_study_link(access, capabilities: tuple[str, ...], tab_ids: tuple[str, ...], request: gr.Request):
    """The page opened by a study link: its participant's project and the annotation tabs, or one refusal and
    nothing else; None when the address is no study link."""
    try:
        who = access.participant(request)
    except AccessError as err:
        return (gr.update(choices=[], value=None), f"**{err}**", gr.update(visible=False),
                *[gr.update(visible=False)] * len(capabilities), gr.update())
    if who is None:
        return None
    shown = [what == "annotate" for what in capabilities]
    return (gr.update(choices=list(who.projects), value=who.projects[0]),
            "**Welcome to the study.** Answer in the Rate and Rank tabs; your progress is saved after every answer, "
            "and this link brings you back where you left off.", gr.update(visible=False),
            *[gr.update(visible=v) for v in shown], _first_tab(shown, tab_ids))


def on_load(store, access, capabilities: tuple[str, ...], tab_ids: tuple[str, ...], request: gr.Request):
    """Who is here, the projects they may pick, the tabs their role shows (one per capability) and the tab
    selected first."""
    if (study := on_study_link(access, capabilities, tab_ids, request)) is not None:
        return study
    if access.open:
        names = access.visible_projects(None)
        note = ("Local mode (no sign-in configured): type your name to start." if access.local else
                "Open mode on a network address: type your name to annotate. Dashboards, jobs and imports need "
                "sign-in (`SPARSE_FEEDBACK_USERS`), or `SPARSE_FEEDBACK_LOCAL=1` on a trusted machine.")
        shown = [access.local or what == "annotate" for what in capabilities]
        return (gr.update(choices=names, value=names[0] if names else None), note, gr.update(visible=True),
                *[gr.update(visible=v) for v in shown], _first_tab(shown, tab_ids))
    try:
        who = access.identify(request)
    except AccessError:
        hint = "Sign in with Hugging Face (button above)." if access.oauth else "Sign in first."
        return (gr.update(choices=[], value=None), hint, gr.update(visible=False),
                *[gr.update(visible=False)] * len(capabilities), gr.update())
    names = access.visible_projects(who)
    project = gr.update(choices=names, value=names[0] if names else None)
    if who.sandbox:
        line = ("**Public demo**: browse the dashboards and the Best-of-n results read-only; try Rate and Rank in a "
                "sandbox (your answers never mix with the project's data).")
    else:
        line = f"Signed in as **{who.name}** ({who.role}) · [log out](logout)"
    shown = [who.can(what) for what in capabilities]
    return (project, line, gr.update(visible=False), *[gr.update(visible=v) for v in shown],
            _first_tab(shown, tab_ids))


def create_app(store: Store, access: Access) -> gr.Blocks:
    with Blocks(title="sparse-feedback") as demo:
        with gr.Row(equal_height=True):
            gr.Markdown("## sparse-feedback", elem_id="sf-title")
            # No choices until on_load has checked who is here: the page served before sign-in (with its
            # API description) must not carry project names.
            project = gr.Dropdown([], value=None, label="Project", scale=2, elem_id="project", allow_custom_value=True)
            name = gr.Textbox(label="Your name", scale=1, visible=access.open, elem_id="annotator-name")
            if access.oauth:  # on a Space with hf_oauth: Gradio serves /login/huggingface for this button
                gr.LoginButton(scale=0, elem_id="hf-login")
        whoami = gr.Markdown(elem_id="whoami")
        storage = space_storage_note()
        if storage and storage[1]:  # a Space without persistent storage: say so on every page
            gr.Markdown(f"**Warning**: {storage[0]}", elem_id="space-storage")
        shell = Shell(access, project, name, [])
        with gr.Tabs() as all_tabs:
            # Every tab starts hidden and on_load shows the caller's: Gradio cannot hide again a tab that was
            # rendered visible (a viewer would see empty Rate and Rank tabs).
            with gr.Tab("Rate", id="rate", visible=False) as t_rate:
                show_rate, rate_outputs = rate.build(store, shell)
            with gr.Tab("Rank", id="rank", visible=False) as t_rank:
                show_rank, rank_outputs = rank.build(store, shell)
            with gr.Tab("Import", id="import", visible=False) as t_import:
                imports.build(store, shell)
            with gr.Tab("Export", id="export", visible=False) as t_export:
                export.build(store, shell)
            with gr.Tab("LLM", id="llm", visible=False) as t_llm:
                llm.build(store, shell)
            with gr.Tab("Admin", id="admin", visible=False) as t_admin:
                admin.build(store, shell)
            research = []
            for title, page in RESEARCH_TABS:  # dashboards: viewers, researchers, admins
                with gr.Tab(title, id=title.lower(), visible=False) as tab:
                    page.build(store, shell, tab)  # each refreshes on open
                research.append(tab)
            with gr.Tab("Train", id="train", visible=False) as t_train:
                train.build(store, shell)
            with gr.Tab("Best-of-n", id="best_of_n", visible=False) as t_best_of_n:
                best_of_n.build(store, shell)
        tabs = {t_rate: "annotate", t_rank: "annotate", t_import: "manage", t_export: "export", t_llm: "manage",
                t_admin: "manage", **{t: "view" for t in research}, t_train: "jobs", t_best_of_n: "view"}
        shell.admin_tabs.extend(tabs)
        # The project value may not change on load, so the current tasks are shown explicitly after it.
        loader = bind(on_load, store, access, tuple(tabs.values()), tuple(t.id for t in tabs))
        (demo.load(loader, None, [project, whoami, name, *shell.admin_tabs, all_tabs], api_name="whoami",
                   api_visibility="private")
         .then(show_rate, [project, name], rate_outputs, api_visibility="private", api_name="rate_on_load",
               show_progress="hidden")
         .then(show_rank, [project, name], rank_outputs, api_visibility="private", api_name="rank_on_load",
               show_progress="hidden"))
        for api_name, fill, inputs, outputs in shell.after_sign_in:
            demo.load(fill, inputs, outputs, api_visibility="private", api_name=api_name)
    return demo


def launch_kwargs(access: Access) -> dict:
    trust_proxies()  # uvicorn believes X-Forwarded-For from the named proxies only (read when it starts)
    css = CSS_PATH.read_text("utf-8") if CSS_PATH.exists() else None
    return dict(auth=access.gradio_auth(), auth_message="Sign in to annotate.",
                # Refusals (gr.Error) are always shown; any other exception's text stays in the server log.
                show_error=False,
                max_file_size=max_upload_bytes(), head=head_script(), css=css, footer_links=["api"],
                # Run history would keep every call's inputs (an API key typed in the LLM tab) in the browser.
                run_history=False,
                # Gradio keeps each session's copy of every component's config (~0.4 MB here) for up to 10,000
                # sessions; one-shot API calls are a session each. The app's state lives in the store and in
                # what the client sends, so only the most recently active sessions are kept.
                state_session_capacity=session_capacity(),
                # Exponential back-off with 429 + Retry-After after 5 failed sign-ins per user and per address.
                # The sign-in page describes no endpoint (Gradio embeds the whole API description in it), and an
                # unreadable request body gets the project's sentence, not pydantic's text.
                # A study link signs its participant in without the login page (password accounts only).
                app_kwargs={"middleware": [Middleware(LoginThrottle), Middleware(StudyEntry, store=access.store),
                                           Middleware(SignedOutPage), Middleware(PlainValidationErrors)]})


def open_app(store: Store | None = None, watch: bool = False) -> tuple[gr.Blocks, Access]:
    """The store, the users, interrupted jobs marked, the demo loaded if the store is empty (and the Best-of-n
    demo if it has no best-of-n job); then the app. ``watch``: the runner's watch starts too (queue orders out of
    date recomputed in the background; :mod:`sparse_feedback.jobs.watch`)."""
    accounts = check_start()  # every setting read at start, before anything is opened
    storage = space_storage_note()
    if storage:
        print(f"sparse-feedback: {storage[0]}", flush=True)  # the Space's log says where the data lives
    store = store or Store()
    store.sync_users(accounts)
    jobs_runner.mark_interrupted(store)  # jobs cut off by the last shutdown
    import_jobs.clean_up(store)  # what an import cut off by the last shutdown had half-written
    ensure_demo(store, DEMO_DIR)
    ensure_best_of_n_demo(store, DEMO_DIR / "best_of_n")
    access = Access.from_env(store, accounts, public_projects=DEMO_PROJECTS)
    blocks = create_app(store, access).queue(default_concurrency_limit=None)
    if watch:
        blocks.runner_watch = Watch(store).start()  # stopped with the process (a daemon thread), or by its stop()
    return blocks, access


def main() -> None:
    try:
        app, access = open_app(watch=True)
        kwargs = launch_kwargs(access)
    except UserError as err:  # a setting the admin can fix: one line naming it, never a traceback
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT) from None
    app.launch(**kwargs)


if __name__ == "__main__":
    main()
