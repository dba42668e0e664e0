"""What an evaluation produces: per-region results, summaries by group, problems, gates.

The report is plain data; ``to_dict``/``from_dict`` round-trip it through JSON, and the
writers (``table.py``, ``html.py``, ``junit.py``) only read it.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glyphgen.eval.annotations import Problem
from glyphgen.eval.config import GateConfig
from glyphgen.eval.metrics import Aggregate, CharError, CharErrorTable, Score, aggregate

SCHEMA = "glyphgen.eval.report/1"
GROUP_KEYS = ("font", "length", "charset", "coverage", "direction")


@dataclass
class RegionResult:
    sample: int  # sample index in the annotation file
    region: int  # region index within the sample
    image: str  # image path as annotated
    target: str  # target as annotated
    read: str  # what the backend read, before normalization
    target_norm: str
    read_norm: str
    exact: bool
    ned: float
    ratio: float
    distance: int  # Levenshtein distance between the normalized texts
    matched: int  # longest common subsequence length
    confidence: float  # the backend's own score
    covered: bool | None  # can the backend output every target character? None: unknown
    uncovered_chars: str  # target characters the backend cannot output
    font: str
    direction: str
    length: str  # length group label, e.g. "3-4"
    charset: str  # "gb2312-l1" | "gb2312-l2" | "beyond-gb2312" | "no-hanzi"
    ceiling_read: str | None = None  # the same region read on the ground-truth image
    ceiling_exact: bool | None = None
    judge: str = ""  # which recognizer read it, for backends that combine several

    @property
    def score(self) -> Score:
        return Score(
            self.target_norm,
            self.read_norm,
            self.exact,
            self.distance,
            self.ned,
            self.ratio,
            self.matched,
        )

    @property
    def key(self) -> tuple[int, int]:
        return self.sample, self.region

    def worst_first(self) -> tuple[bool, float, float, int, int]:
        """Sort key: wrong before right, then lower NED, lower ratio, then annotation order."""
        return self.exact, self.ned, self.ratio, self.sample, self.region


@dataclass
class GateResult:
    name: str  # e.g. "min_sentence_acc"
    threshold: float
    value: float | None  # None: nothing to measure (no region in the headline set)
    passed: bool
    message: str


@dataclass
class Ceiling:
    """The same annotations evaluated on ground-truth images: what the judge can reach."""

    source: str  # the ground-truth images folder, or the report file it was read from
    summary: Aggregate
    groups: dict[str, dict[str, Aggregate]]
    problems: int = 0


@dataclass
class Report:
    annotations: str
    images: str
    format: str
    backend: dict[str, Any]
    config: dict[str, Any]
    summary: Aggregate  # the headline: regions that count (covered ones, by default)
    all_regions: Aggregate  # every scored region, uncovered ones included
    groups: dict[str, dict[str, Aggregate]]
    char_errors: list[CharError]
    spurious: dict[str, int]  # read characters aligned to no target character
    regions: list[RegionResult]
    problems: list[Problem]
    counts: dict[str, Any]
    timing: dict[str, float]
    ceiling: Ceiling | None = None
    # --reference-images: {"reference": folder, "summary": means, "regions": per region}
    fidelity: dict[str, Any] | None = None
    gates: list[GateResult] = field(default_factory=list)
    thumbnails: dict[tuple[int, int], bytes] = field(
        default_factory=dict, repr=False
    )  # JPEG, not in JSON

    # -- gates ------------------------------------------------------------------------------
    def check_gates(self, gates: GateConfig) -> list[GateResult]:
        """Compare the headline summary with the thresholds; stores and returns the results."""
        out = []
        for name, metric in (
            ("min_sentence_acc", "sentence_acc"),
            ("min_ned", "ned"),
            ("min_ratio", "ratio"),
        ):
            threshold = getattr(gates, name)
            if threshold is None:
                continue
            value = getattr(self.summary, metric)
            if value is None:
                out.append(
                    GateResult(name, threshold, None, False, f"{metric}: no region to score")
                )
                continue
            passed = value >= threshold
            verb = ">=" if passed else "<"
            out.append(
                GateResult(
                    name, threshold, value, passed, f"{metric} {value:.4f} {verb} {threshold}"
                )
            )
        for name, metric in (("min_psnr", "psnr"), ("min_ssim", "ssim")):
            threshold = getattr(gates, name)
            if threshold is None:
                continue
            value = None if self.fidelity is None else self.fidelity["summary"][metric]
            if value is None:
                why = "no --reference-images" if self.fidelity is None else "no region compared"
                out.append(GateResult(name, threshold, None, False, f"{metric}: {why}"))
                continue
            passed = value >= threshold
            verb = ">=" if passed else "<"
            message = f"mean {metric} {value:.4f} {verb} {threshold} (against the references)"
            out.append(GateResult(name, threshold, value, passed, message))
        if gates.max_problems is not None:
            n = len(self.problems)
            passed = n <= gates.max_problems
            message = f"data problems {n} {'<=' if passed else '>'} {gates.max_problems}"
            if not passed:
                message += (
                    f" ({'; '.join(describe_problems(self.problems))}); fix the data, or pass "
                    "--max-problems N / --allow-problems to accept unscored regions"
                )
            out.append(GateResult("max_problems", gates.max_problems, n, passed, message))
        self.gates = out
        return out

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    @property
    def measurable(self) -> bool:
        """False when a gate had nothing to measure (no region in the headline set)."""
        return all(g.value is not None for g in self.gates)

    # -- JSON -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = {
            "schema": SCHEMA,
            **{
                f.name: _plain(getattr(self, f.name))
                for f in dataclasses.fields(self)
                if f.name != "thumbnails"
            },
        }
        data["char_errors"] = [
            {**dataclasses.asdict(e), "error_rate": e.error_rate} for e in self.char_errors
        ]
        return data

    def write_json(self, path: Path | str) -> None:
        Path(path).write_text(
            json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        if data.get("schema") != SCHEMA:
            raise ValueError(
                f"not a glyphgen eval report (schema {data.get('schema')!r}, want {SCHEMA!r})"
            )
        ceiling = data.get("ceiling")
        return cls(
            annotations=data["annotations"],
            images=data["images"],
            format=data["format"],
            backend=data["backend"],
            config=data["config"],
            summary=_aggregate(data["summary"]),
            all_regions=_aggregate(data["all_regions"]),
            groups=_groups(data["groups"]),
            char_errors=[
                CharError(e["char"], e["count"], e["wrong"], e["read_as"])
                for e in data["char_errors"]
            ],
            spurious=data["spurious"],
            regions=[RegionResult(**r) for r in data["regions"]],
            problems=[Problem(**p) for p in data["problems"]],
            counts=data["counts"],
            timing=data["timing"],
            ceiling=None
            if ceiling is None
            else Ceiling(
                ceiling["source"],
                _aggregate(ceiling["summary"]),
                _groups(ceiling["groups"]),
                ceiling["problems"],
            ),
            fidelity=data.get("fidelity"),
            gates=[GateResult(**g) for g in data.get("gates", [])],
        )

    @classmethod
    def read_json(cls, path: Path | str) -> Report:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"cannot read report {path}: {exc}") from exc
        try:
            return cls.from_dict(data)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"report {path} is missing or has a wrong field: {exc}") from exc

    # -- ceiling ----------------------------------------------------------------------------
    def attach_ceiling(self, other: Report, source: str) -> None:
        """Put a ground-truth report's numbers beside ours, region by region where they match."""
        self.ceiling = Ceiling(source, other.summary, other.groups, len(other.problems))
        theirs = {r.key: r for r in other.regions}
        for r in self.regions:
            twin = theirs.get(r.key)
            if twin is not None and twin.target_norm == r.target_norm:
                r.ceiling_read, r.ceiling_exact = twin.read, twin.exact


def describe_problems(problems: list[Problem], first: int = 3) -> list[str]:
    """One line per kind: its count and where its first few occurred, e.g.
    ``missing-image 10: gen/000.png, gen/001.png, gen/002.png and 7 more``: the image file
    looked for, else the annotation line (and region)."""
    by_kind: dict[str, list[str]] = {}
    for p in problems:
        place = p.path or p.where or "?"
        if p.path is None and p.region is not None:
            place += f" region {p.region}"
        by_kind.setdefault(p.kind, []).append(place)
    parts = []
    for kind, places in by_kind.items():
        shown = ", ".join(places[:first])
        more = f" and {len(places) - first} more" if len(places) > first else ""
        parts.append(f"{kind} {len(places)}: {shown}{more}")
    return parts


def build_report(
    results: list[RegionResult],
    problems: list[Problem],
    *,
    include_uncovered: bool,
    top_errors: int,
    meta: dict[str, Any],
) -> Report:
    """Summaries, groups and the character error table from per-region results."""
    headline = [r for r in results if include_uncovered or r.covered is not False]
    table = CharErrorTable()
    for r in headline:
        table.add(r.score)
    groups: dict[str, dict[str, Aggregate]] = {}
    for key in GROUP_KEYS:
        members = results if key == "coverage" else headline
        groups[key] = _group(members, key)
    counts = {
        **meta.pop("counts", {}),
        "regions_scored": len(results),
        "regions_in_summary": len(headline),
        "regions_uncovered": sum(r.covered is False for r in results),
        "problems": len(problems),
        "problems_by_kind": dict(Counter(p.kind for p in problems)),
    }
    return Report(
        summary=aggregate(r.score for r in headline),
        all_regions=aggregate(r.score for r in results),
        groups=groups,
        char_errors=table.rows(top_errors),
        spurious=dict(table.spurious.most_common()),
        regions=results,
        problems=problems,
        counts=counts,
        **meta,
    )


def _group(results: Iterable[RegionResult], key: str) -> dict[str, Aggregate]:
    buckets: dict[str, list[RegionResult]] = {}
    for r in results:
        label = _label(r, key)
        buckets.setdefault(label, []).append(r)
    return {
        label: aggregate(r.score for r in rs)
        for label, rs in sorted(buckets.items(), key=_group_order)
    }


def _label(r: RegionResult, key: str) -> str:
    if key == "coverage":
        return {True: "covered", False: "uncovered", None: "unknown"}[r.covered]
    value: str = getattr(r, key)
    return value


def _group_order(item: tuple[str, Any]) -> tuple[int, str]:
    """Length groups in numeric order ("3-4" before "17+"), the rest alphabetically."""
    label = item[0]
    head = label.split("-")[0].rstrip("+")
    return (int(head), label) if head.isdigit() else (10**9, label)


def length_label(n: int, bins: list[int]) -> str:
    """Group label for a target of ``n`` characters: bins [2, 4] give "1-2", "3-4", "5+"."""
    low = 1
    for high in bins:
        if n <= high:
            return str(high) if low == high else f"{low}-{high}"
        low = high + 1
    return f"{low}+"


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Counter):
        return dict(value)
    return value


def _aggregate(data: dict[str, Any]) -> Aggregate:
    return Aggregate(**data)


def _groups(data: dict[str, dict[str, Any]]) -> dict[str, dict[str, Aggregate]]:
    return {
        key: {label: _aggregate(a) for label, a in groups.items()} for key, groups in data.items()
    }
