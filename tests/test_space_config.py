"""The README's front matter is what a Hugging Face Space reads: only keys Spaces know, the Gradio version the
requirements resolve to (the one installed here, which the tests ran against) and a Python version."""

import re
from importlib.metadata import version
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]
# The keys of the Spaces configuration reference (huggingface.co/docs/hub/spaces-config-reference).
SPACES_KEYS = {
    "title", "short_description", "emoji", "colorFrom", "colorTo", "sdk", "python_version", "sdk_version",
    "suggested_hardware", "suggested_storage", "app_file", "app_port", "app_build_command", "base_path",
    "fullWidth", "header", "models", "datasets", "tags", "thumbnail", "pinned", "hf_oauth", "hf_oauth_scopes",
    "hf_oauth_expiration_minutes", "hf_oauth_authorized_org", "disable_embedding", "startup_duration_timeout",
    "custom_headers", "preload_from_hub", "license",
}


def front_matter() -> dict:
    text = (ROOT / "README.md").read_text("utf-8")
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert match, "README.md starts without a YAML front matter block"
    return yaml.safe_load(match.group(1))


def test_the_front_matter_holds_only_keys_spaces_read():
    meta = front_matter()
    assert set(meta) <= SPACES_KEYS, sorted(set(meta) - SPACES_KEYS)
    assert {"title", "sdk", "sdk_version", "python_version", "app_file"} <= set(meta)
    assert meta["sdk"] == "gradio" and (ROOT / meta["app_file"]).is_file()


def test_sdk_version_is_the_installed_gradio_that_the_requirements_allow():
    meta, installed = front_matter(), version("gradio")
    assert isinstance(meta["sdk_version"], str) and meta["sdk_version"] == installed
    lines = (ROOT / "requirements.txt").read_text("utf-8").splitlines()
    (gradio,) = [Requirement(line.split("#")[0].strip()) for line in lines if line.startswith("gradio")]
    assert installed in gradio.specifier


def test_python_version_is_a_string_the_project_supports():
    meta = front_matter()
    assert isinstance(meta["python_version"], str)  # an unquoted 3.10 would be read as the number 3.1
    assert re.fullmatch(r"3\.\d+", meta["python_version"])
    requires = re.search(r'requires-python = "([^"]+)"', (ROOT / "pyproject.toml").read_text("utf-8")).group(1)
    assert meta["python_version"] + ".0" in SpecifierSet(requires)
