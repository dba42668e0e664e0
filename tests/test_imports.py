"""The package's import structure: which layers may load which.

- Only the command-line layer imports ``glyphgen.cli``: it loads every part's ``cli`` module,
  so a library module importing it back would close a loop (shared helpers are in
  ``glyphgen.cmdline``).
- Rendering with the model needs the model and typography, not the factory or the evaluator.
- ``glyphgen --help``, ``glyphgen render --help`` and argument errors load no torch.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import glyphgen
from glyphgen.cli import COMMANDS, build_parser

PACKAGE = Path(glyphgen.__file__).parent
ROOT = PACKAGE.parent


def is_cli_layer(path: Path) -> bool:
    rel = path.relative_to(PACKAGE)
    return rel.name == "cli.py" or rel.parts == ("__main__.py",)


def imported_modules(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (anywhere in it, lazily included)."""
    package = ".".join(("glyphgen", *path.relative_to(PACKAGE).parent.parts))
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_only_the_cli_layer_imports_glyphgen_cli():
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted(PACKAGE.rglob("*.py"))
        if not is_cli_layer(path) and "glyphgen.cli" in imported_modules(path)
    ]
    assert offenders == [], "import glyphgen.cmdline instead of glyphgen.cli"


def test_the_walk_sees_every_import_form(tmp_path, monkeypatch):
    fake = tmp_path / "glyphgen"
    (fake / "part").mkdir(parents=True)
    forms = {
        "a.py": "import glyphgen.cli",
        "b.py": "from glyphgen.cli import fail",
        "c.py": "from glyphgen import cli",
        "part/d.py": "from .. import cli",
        "part/e.py": "def f():\n    from ..cli import fail\n",
    }
    for name, source in forms.items():
        (fake / name).write_text(source)
    monkeypatch.setitem(globals(), "PACKAGE", fake)
    assert all("glyphgen.cli" in imported_modules(fake / name) for name in forms)


def loaded_by(code: str) -> set[str]:
    """Modules in sys.modules after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("module", ["glyphgen.model.render", "glyphgen.model.pipeline"])
def test_the_model_does_not_load_the_factory_or_the_evaluator(module):
    loaded = loaded_by(f"import {module}")
    assert module in loaded
    assert {m for m in loaded if m.startswith(("glyphgen.synth", "glyphgen.eval"))} == set()


def test_render_loads_torch_only_to_draw():
    loaded = loaded_by("import glyphgen.model.render")
    assert {m.split(".")[0] for m in loaded} & {"torch", "diffusers"} == set()


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["render", "--help"],
        ["render", "--text", "北京", "--steps", "-3"],
        ["render", "--text", "北京\U000e01ef", "--out", "/nonexistent/o.png"],
    ],
)
def test_help_and_refusals_load_no_torch(argv):
    code = (
        "import sys\nfrom glyphgen.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass"
    )
    loaded = loaded_by(code)
    assert {m.split(".")[0] for m in loaded} & {"torch", "diffusers"} == set()


def subcommands(parser) -> set[str]:
    (action,) = [a for a in parser._actions if a.dest == "command"]
    return set(action.choices)


def test_the_command_table_is_what_the_modules_register():
    assert subcommands(build_parser()) == set(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_command_loads_only_its_own_module(command):
    assert command in subcommands(build_parser([command, "--help"]))
    siblings = {c for c, m in COMMANDS.items() if m == COMMANDS[command]}
    assert subcommands(build_parser([command])) == siblings


def test_top_level_help_lists_every_command_wherever_it_is_asked():
    assert subcommands(build_parser(["--help", "render"])) == set(COMMANDS)


# Layers: the factory is the factory, typography is shared by everyone and needs no one.
LAYERS = {
    "synth": ("glyphgen.model", "glyphgen.eval", "glyphgen.reader", "glyphgen.web"),
    "typeset": (
        "glyphgen.synth",
        "glyphgen.model",
        "glyphgen.eval",
        "glyphgen.reader",
        "glyphgen.web",
        "glyphgen.benchmark",
    ),
}


@pytest.mark.parametrize("part", sorted(LAYERS))
def test_a_lower_layer_imports_nothing_above_it(part):
    above = LAYERS[part]
    for path in sorted((PACKAGE / part).rglob("*.py")):
        wrong = sorted(m for m in imported_modules(path) if m.startswith(above))
        assert not wrong, f"{path.relative_to(ROOT)} imports {wrong}"


def test_importing_the_model_package_loads_no_factory_or_evaluator():
    code = "import sys, glyphgen.model; print([m for m in sys.modules if m.startswith('glyphgen')])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = done.stdout
    assert "glyphgen.synth" not in loaded and "glyphgen.eval" not in loaded
