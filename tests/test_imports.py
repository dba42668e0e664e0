"""The package's import structure: which layers may load which.

- Only the command-line layer imports ``glyphgen.cli``: it loads every part's ``cli`` module,
  so a library module importing it back would close a loop (shared helpers are in
  ``glyphgen.cmdline``).
- The parts stand on floors (``FLOORS``): each imports only parts below it, so there is no
  import loop between them.
- Rendering with the model needs the model and typography, not the factory or the evaluator.
- ``glyphgen --help``, ``glyphgen render --help`` and argument errors load no torch.
"""

import ast
import itertools
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


def imported_modules(path: Path, root: Path | None = None) -> set[str]:
    """Absolute names of every module ``path`` (a file under ``root``, the glyphgen package)
    imports, anywhere in it: lazy imports included."""
    package = ".".join(("glyphgen", *path.relative_to(root or PACKAGE).parent.parts))
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


# The house's floors, lowest first: a part imports only parts on floors below its own (lazy
# imports inside functions and TYPE_CHECKING imports count too). Every part of glyphgen (each
# package and each top-level module) stands on one floor, so the parts form no loop.
FLOORS: list[set[str]] = [
    {"paths", "hashing", "cmdline", "configio", "images", "limits", "resume"},
    {"safeweights"},  # loads weights only as their manifest's hashes say
    {"typeset"},  # typography every part shares: fonts, layout, a line fitted into a quad
    {"edit", "synth"},  # the classical edit; the factory
    {"reader"},  # our recognizer (trained on the factory's lines)
    {"eval"},  # the evaluator (its judges include the reader)
    {"model"},  # the glyph model (trained on the factory, with the reader's loss)
    {"render"},  # one render, whoever asks: the model or the classical edit
    {"benchmark", "web"},
    {"cli"},  # the command line: glyphgen.cli loads each part's cli module
    {"__main__"},  # python -m glyphgen
]


def part_of(module: str) -> str | None:
    """The part of glyphgen ``module`` belongs to ("model" for glyphgen.model.render)."""
    names = module.split(".")
    return names[1] if names[0] == "glyphgen" and len(names) > 1 else None


def parts(package: Path = PACKAGE) -> set[str]:
    """Every package and top-level module of glyphgen (not its face, __init__)."""
    return {
        p.stem if p.is_file() else p.name
        for p in package.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }


def part_imports(package: Path = PACKAGE) -> dict[tuple[str, str], list[str]]:
    """(importing part, imported part) -> the files that import it."""
    edges: dict[tuple[str, str], list[str]] = {}
    known = parts(package)
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        src = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        for module in imported_modules(path, package):
            dst = part_of(module)
            if dst in known and dst != src:
                edges.setdefault((src, dst), []).append(rel.as_posix())
    if package == PACKAGE:  # glyphgen.cli imports each command's module by its name
        for module in set(COMMANDS.values()):
            edges.setdefault(("cli", str(part_of(module))), []).append("cli.py (COMMANDS)")
    return {edge: sorted(set(files)) for edge, files in edges.items()}


def find_loop(edges) -> list[str]:
    """A loop of parts (first part repeated at the end), or [] if there is none."""
    graph: dict[str, list[str]] = {}
    for a, b in sorted(edges):
        graph.setdefault(a, []).append(b)
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = 1
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (loop := visit(nxt, [*path, nxt])):
                return loop
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (loop := visit(node, [node])):
            return loop
    return []


def test_every_part_stands_on_one_floor():
    placed = [p for floor in FLOORS for p in floor]
    assert len(placed) == len(set(placed)), "a part is on two floors"
    assert parts() == set(placed), "place every part of glyphgen on a floor of FLOORS"


def test_no_part_imports_a_part_on_its_floor_or_above():
    floor = {p: k for k, members in enumerate(FLOORS) for p in members}
    wrong = [
        f"{a} (floor {floor[a]}) imports {b} (floor {floor[b]}) in {', '.join(files)}"
        for (a, b), files in part_imports().items()
        if floor[b] >= floor[a]
    ]
    assert wrong == []


def test_no_import_loop_between_parts():
    edges = part_imports()
    loop = find_loop(edges)
    closing = {f"{a} -> {b}": edges[(a, b)] for a, b in itertools.pairwise(loop)}
    assert loop == [], f"import loop {' -> '.join(loop)}: {closing}"


def test_a_loop_through_a_lazy_import_is_found(tmp_path):
    """The check can fail: edit imports model inside a function, model imports edit."""
    fake = tmp_path / "glyphgen"
    for part in ("edit", "model", "typeset"):
        (fake / part).mkdir(parents=True)
        (fake / part / "__init__.py").write_text("")
    (fake / "edit" / "classical.py").write_text("def f():\n    from glyphgen.model import glyph\n")
    (fake / "model" / "render.py").write_text("from ..edit.classical import f\n")
    (fake / "model" / "glyph.py").write_text("from glyphgen.typeset import fonts\n")
    edges = part_imports(fake)
    assert set(edges) == {("edit", "model"), ("model", "edit"), ("model", "typeset")}
    assert find_loop(edges) == ["edit", "model", "edit"]
    assert parts(fake) == {"edit", "model", "typeset"}


def test_importing_the_model_package_loads_no_factory_or_evaluator():
    code = "import sys, glyphgen.model; print([m for m in sys.modules if m.startswith('glyphgen')])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = done.stdout
    assert "glyphgen.synth" not in loaded and "glyphgen.eval" not in loaded
