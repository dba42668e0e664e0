"""Typed dataclass configs loaded from YAML / dicts, with unknown keys rejected loudly.

Sections of the YAML are named after the dataclass fields they fill. Every config of every
command is built by :func:`load` with one precedence, lowest first:

1. the dataclass defaults,
2. config files, in the order given (a bundled preset, then the user's ``--config``); a file
   may be a variant of another (``extends: base.yaml``: the base first, then the file),
3. ``--set section.key=value`` overrides, in the order given,
4. explicit command-line flags (``--num``, ``--seed``, ``--out`` ...): a flag the user typed
   is the most specific thing they said, so it wins over a ``--set`` of the same key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")
EXTENDS = "extends"  # top-level key of a YAML file: the file it is a variant of


class ConfigError(ValueError):
    """A config file or override that does not fit the config schema."""


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _convert(value: Any, tp: Any, where: str) -> Any:
    """Convert a YAML value to the annotated type ``tp`` (dataclasses, lists, tuples, unions)."""
    origin = typing.get_origin(tp)
    if _is_dataclass_type(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping for {tp.__name__}, got {value!r}")
        return from_dict(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, where)
            except (ConfigError, TypeError, ValueError) as exc:
                errors.append(str(exc))
        raise ConfigError(f"{where}: {value!r} fits none of {tp}: {'; '.join(errors)}")
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{where}: {value!r} is not one of {list(allowed)}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{where}: expected {len(args)} values, got {list(value)!r}")
            return tuple(
                _convert(v, a, f"{where}[{i}]")
                for i, (a, v) in enumerate(zip(args, value, strict=True))
            )
        item_tp = args[0] if args else Any
        items = [_convert(v, item_tp, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        _, val_tp = typing.get_args(tp) or (Any, Any)
        return {k: _convert(v, val_tp, f"{where}.{k}") for k, v in value.items()}
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, str, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise ConfigError(f"{where}: expected {tp.__name__}, got {value!r}")
        return value
    return value


def from_dict(cls: type[T], data: dict[str, Any], where: str = "config") -> T:
    """Build dataclass ``cls`` from ``data``; unknown keys raise with the valid ones listed."""
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {unknown}; valid keys for {cls.__name__} are {sorted(fields)}"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {name: _convert(value, hints[name], f"{where}.{name}") for name, value in data.items()}
    try:
        obj = cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    return obj


def to_dict(obj: Any) -> Any:
    """Plain-dict form of a config dataclass (tuples become lists), for YAML/JSON output."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, Path):
        return str(obj)
    return obj


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Recursively merge ``update`` into a copy of ``base`` (mappings merge, the rest replaces)."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def parse_override(text: str) -> dict[str, Any]:
    """``"render.height=48"`` -> ``{"render": {"height": 48}}``; the value is parsed as YAML."""
    if "=" not in text:
        raise ConfigError(
            f"override {text!r} must look like section.key=value (e.g. line.height=48)"
        )
    path, raw = text.split("=", 1)
    value = yaml.safe_load(raw) if raw.strip() else ""
    node: dict[str, Any] = {}
    out = node
    parts = path.strip().split(".")
    for part in parts[:-1]:
        node[part] = {}
        node = node[part]
    node[parts[-1]] = value
    return out


def load_yaml(path: Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The mapping in ``path``; with a top-level ``extends: BASE.yaml`` (a file beside it), the
    base's mapping with this file's merged over it (mappings merge, the rest replaces), so a
    variant says only what differs. ``extends`` is read here and never reaches a dataclass."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        extended_by = f" (extended by {_chain[-1]})" if _chain else ""
        raise ConfigError(f"config file {path}{extended_by} does not exist") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    base = data.pop(EXTENDS, None)
    if base is None:
        return data
    if not isinstance(base, str) or not base:
        raise ConfigError(
            f"{path}: {EXTENDS} must name one YAML file beside it (e.g. {EXTENDS}: edits.yaml), "
            f"got {base!r}"
        )
    chain = (*_chain, Path(path).resolve())
    base_path = Path(path).parent / base
    if base_path.resolve() in chain:
        names = " -> ".join(str(p) for p in (*chain, base_path.resolve()))
        raise ConfigError(f"{path}: {EXTENDS} makes a loop: {names}")
    return deep_merge(load_yaml(base_path, chain), data)


def load(
    cls: type[T],
    files: list[Path] | tuple[Path, ...] = (),
    overrides: list[str] | None = None,
    flags: dict[str, Any] | None = None,
    where: str = "config",
) -> T:
    """Build ``cls`` from its defaults < ``files`` < ``overrides`` (``--set``) < ``flags``.

    ``flags`` holds only the flags the user actually gave, as a nested dict (``{"output":
    {"formats": [...]}}``); unknown keys anywhere raise :class:`ConfigError` naming the valid
    ones."""
    data: dict[str, Any] = {}
    for file in files:
        data = deep_merge(data, load_yaml(file))
    for text in overrides or []:
        data = deep_merge(data, parse_override(text))
    data = deep_merge(data, flags or {})
    return from_dict(cls, data, where)
