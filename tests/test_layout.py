"""The package says what it holds: every part of glyphgen is named in its docstring and in the
README's layout table, so neither goes stale when a part is added."""

import glyphgen
from glyphgen.paths import DATA_DIR, REPO_ROOT

PACKAGE = REPO_ROOT / "glyphgen"


def test_every_part_is_named_in_the_package_docstring_and_the_readme():
    parts = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    parts.append(DATA_DIR.name)
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    doc = glyphgen.__doc__ or ""
    assert not [p for p in parts if f"``glyphgen.{p}``" not in doc], doc
    assert not [p for p in parts if f"`glyphgen/{p}/`" not in readme]
