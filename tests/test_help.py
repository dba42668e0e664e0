"""Every command's --help ends with examples to copy (sub-commands' too)."""

import argparse

from glyphgen.cli import COMMANDS, build_parser


def parsers(parser: argparse.ArgumentParser, name: str = "glyphgen"):
    """(name, parser) of ``parser``'s sub-commands, at every depth."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield f"{name} {sub_name}", sub
                yield from parsers(sub, f"{name} {sub_name}")


def test_every_help_has_examples():
    found = dict(parsers(build_parser(["--help"])))
    assert {name.split()[1] for name in found} == set(COMMANDS)
    missing = [name for name, p in found.items() if "examples:" not in p.format_help()]
    assert missing == []
