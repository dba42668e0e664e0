"""The README's printed examples are what the commands print today (tools/readme_outputs.py
runs them), so they cannot drift from the code."""

import importlib.util

import pytest

from glyphgen.paths import REPO_ROOT


@pytest.mark.slow
def test_the_readme_prints_what_the_commands_print():
    spec = importlib.util.spec_from_file_location(
        "readme_outputs", REPO_ROOT / "tools" / "readme_outputs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.README.read_text(encoding="utf-8")
    assert module.BLOCK.findall(text), "README.md lost its output blocks"
    assert module.render(text) == text, "out of date: run python tools/readme_outputs.py"
