"""The one-way import rule (README, "Architecture"): each layer imports only the layers before it.

foundation (errors, settings, progress, device, templates, hub, config, lazy) → formats (+ protocols) → backends → generate → judge → store → analysis → study → reward → rerank → evaluate → report
→ pipeline → jobs → ui → CLI modules (``cli.py``, ``*/cli.py``) → pages/app. Every import counts, including the
lazy ones inside functions, and a module may always import its own package.
"""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOUNDATION = {"__init__", "errors", "settings", "progress", "device", "templates", "hub", "config", "lazy"}
ALONGSIDE = {"protocols": "formats"}  # the protocol rules read the formats' schema
ORDER = ["formats", "backends", "generate", "judge", "store", "analysis", "study", "reward", "rerank", "evaluate",
         "report", "pipeline", "jobs", "ui"]
CLI, PAGES = len(ORDER) + 1, len(ORDER) + 2


def layer(module: str) -> int:
    """The layer of a dotted module name under sparse_feedback (or pages/app)."""
    parts = module.split(".")
    if parts[0] in ("pages", "app") or parts[-1] == "__main__":  # entry points
        return PAGES
    if parts[-1] == "cli" and len(parts) > 1:
        return CLI
    if len(parts) < 2 or parts[1] in FOUNDATION:
        return 0
    return ORDER.index(ALONGSIDE.get(parts[1], parts[1])) + 1


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def imports(path: Path):
    tree = ast.parse(path.read_text("utf-8"))
    package = module_name(path).rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            # ``from sparse_feedback.x import cli`` imports the module sparse_feedback.x.cli
            yield from (f"{base}.{alias.name}" if alias.name == "cli" else base for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "lazy_package":
            # a package's lazy exports are imports too: {".submodule" or "absolute.module": [names]}
            for key in node.args[1].keys:
                yield package + key.value if key.value.startswith(".") else key.value


def violations() -> list[str]:
    found = []
    for path in sorted([*(ROOT / "sparse_feedback").rglob("*.py"), *(ROOT / "pages").glob("*.py")]):
        source = module_name(path)
        own = source.split(".")[:2]
        for target in imports(path):
            if not target.startswith("sparse_feedback") and not target.startswith("pages"):
                continue
            if target.split(".")[:2] == own and layer(target) != CLI:
                continue  # inside its own package (a package's cli.py is above it, checked below)
            if layer(target) > layer(source):
                found.append(f"{source} imports {target}")
    return found


def test_no_module_imports_a_later_layer():
    assert violations() == []


def test_no_core_module_imports_ui_pages_or_a_cli_module():
    core = [v for v in violations() if layer(v.split()[0]) < layer("sparse_feedback.ui.x")]
    assert core == []


def stage_cli_violations() -> list[str]:
    """A stage's ``cli.py`` calls its own stage and earlier ones only: it sits with its stage in the data flow."""
    found = []
    for path in sorted((ROOT / "sparse_feedback").glob("*/cli.py")):
        source = module_name(path)
        stage = layer(source.rsplit(".", 1)[0] + ".x")
        for target in imports(path):
            if target.startswith("sparse_feedback.") and layer(target.removesuffix(".cli") + ".x") > stage:
                found.append(f"{source} imports {target}")
    return found


def test_a_stage_command_imports_only_its_stage_and_earlier_ones():
    assert stage_cli_violations() == [], ("move the command to a CLI module of the layer it needs (as `import` "
                                          "moved from store/cli.py to jobs/cli.py)")


def test_the_rule_catches_a_stage_importing_a_later_one():
    assert layer("sparse_feedback.judge.engine") > layer("sparse_feedback.generate.run")
    assert layer("sparse_feedback.ui.best_of_n") > layer("sparse_feedback.jobs.best_of_n") > layer(
        "sparse_feedback.pipeline.stages") > layer("sparse_feedback.evaluate.run")
    assert layer("sparse_feedback.evaluate.cli") > layer("sparse_feedback.ui.best_of_n")


def test_lazy_exports_count_as_imports():
    found = set(imports(ROOT / "sparse_feedback" / "generate" / "__init__.py"))
    assert {"sparse_feedback.backends", "sparse_feedback.generate.run"} <= found


def test_help_imports_neither_pandas_nor_sqlalchemy():
    """``--help`` stays instant: the stage packages resolve their exports on first use."""
    code = ("import sys, contextlib, io\n"
            "from sparse_feedback.cli import main\n"
            "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['--help'])\n"
            "print(sorted(m for m in ('pandas', 'sqlalchemy', 'numpy', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_lazy_package_exports_the_function_even_when_a_submodule_has_its_name():
    import sparse_feedback.analysis.consistency  # noqa: F401  (the submodule is now an attribute too)
    from sparse_feedback import analysis
    from sparse_feedback.analysis import consistency

    assert callable(consistency) and consistency is analysis.consistency
    assert "consistency" in analysis.__all__ and "Store" in __import__("sparse_feedback.store").store.__all__
