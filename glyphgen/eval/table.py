"""The human-readable report: Markdown tables that also read well in a terminal."""

from __future__ import annotations

from typing import Any

from glyphgen.eval.metrics import Aggregate
from glyphgen.eval.report import Report, describe_problems

METRIC_NAMES = {
    "sentence_acc": "sentence accuracy",
    "ned": "NED (1 - norm. edit distance)",
    "ratio": "Levenshtein ratio",
    "char_precision": "char precision",
    "char_recall": "char recall",
}
GROUP_TITLES = {
    "font": "by font",
    "length": "by text length (characters)",
    "charset": "by charset level",
    "coverage": "by judge coverage (all regions)",
    "direction": "by direction",
}


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def markdown(report: Report, *, top_errors: int = 15, max_problems: int = 20) -> str:
    c = report.counts
    ceiling = report.ceiling
    lines = [
        "## glyphgen eval",
        "",
        f"- annotations: `{report.annotations}` ({report.format}), images: `{report.images}`",
        f"- judge: {_backend(report.backend)}",
        f"- samples: {c.get('samples', 0)}, regions scored: {c['regions_scored']}, "
        f"in the summary: {c['regions_in_summary']}, problems: {c['problems']}"
        + (f", skipped: {_kv(c['skipped'])}" if c.get("skipped") else ""),
        "",
    ]
    head = "| metric | model |" + (" OCR ceiling (ground truth) |" if ceiling else "")
    lines += [head, "|---|---:|" + ("---:|" if ceiling else "")]
    for key, name in METRIC_NAMES.items():
        row = f"| {name} | {_metric(report.summary, key)} |"
        if ceiling:
            row += f" {_metric(ceiling.summary, key)} |"
        lines.append(row)
    row = f"| regions | {report.summary.n} |" + (f" {ceiling.summary.n} |" if ceiling else "")
    lines.append(row)
    if c["regions_uncovered"] and report.summary.n != report.all_regions.n:
        uncovered = "".join(
            dict.fromkeys("".join(r.uncovered_chars for r in report.regions if r.covered is False))
        )
        lines += [
            "",
            f"{c['regions_uncovered']} region(s) are left out of the summary: their targets hold "
            f"characters the judge cannot output ({_clip(uncovered, 40)}); see 'by judge coverage'.",
        ]
    if report.fidelity is not None:
        f = report.fidelity["summary"]
        lines += [
            "",
            f"### fidelity to the reference images ({report.fidelity['reference']})",
            "",
            "| regions | PSNR (dB) | SSIM | seam | cast |",
            "|---:|---:|---:|---:|---:|",
            f"| {f['regions']} | {fmt(f['psnr'])} | {fmt(f['ssim'])} | {fmt(f['seam'])} | "
            f"{fmt(f['cast'])} |",
        ]
    if report.gates:
        lines += ["", "### gates", ""]
        lines += [
            f"- {'PASS' if g.passed else 'FAIL'} `{g.name}`: {g.message}" for g in report.gates
        ]
    for key, groups in report.groups.items():
        if len(groups) < 2 and key in ("direction", "font") and "unknown" in groups:
            continue  # nothing to compare
        lines += ["", f"### {GROUP_TITLES.get(key, key)}", ""]
        ceiling_groups = ceiling.groups.get(key, {}) if ceiling else {}
        head = "| group | regions | sentence acc | NED | ratio |"
        lines += [
            head + (" ceiling acc |" if ceiling else ""),
            "|---|---:|---:|---:|---:|" + ("---:|" if ceiling else ""),
        ]
        for label, agg in groups.items():
            row = f"| {label} | {agg.n} | {fmt(agg.sentence_acc)} | {fmt(agg.ned)} | {fmt(agg.ratio)} |"
            if ceiling:
                twin = ceiling_groups.get(label)
                row += f" {fmt(twin.sentence_acc if twin else None)} |"
            lines.append(row)
    if report.char_errors:
        lines += ["", "### characters most often wrong", ""]
        lines += ["| char | in targets | wrong | read as |", "|---|---:|---:|---|"]
        for e in report.char_errors[:top_errors]:
            read_as = ", ".join(f"{_show(r)} x{n}" for r, n in list(e.read_as.items())[:5])
            lines.append(f"| {e.char} | {e.count} | {e.wrong} | {read_as} |")
    if report.problems:
        lines += ["", f"### problems ({len(report.problems)}: {_kv(c['problems_by_kind'])})", ""]
        lines += [f"- {part}" for part in describe_problems(report.problems)]
        lines += [""]
        lines += ["| where | image | region | kind | message |", "|---|---|---:|---|---|"]
        for p in report.problems[:max_problems]:
            region = "" if p.region is None else str(p.region)
            lines.append(
                f"| {p.where} | {p.image or ''} | {region} | {p.kind} | {_cell(p.message)} |"
            )
        if len(report.problems) > max_problems:
            lines.append(f"\n... {len(report.problems) - max_problems} more in the JSON report")
    return "\n".join(lines) + "\n"


def _metric(agg: Aggregate, key: str) -> str:
    value = getattr(agg, key)
    if key == "sentence_acc" and value is not None:
        return f"{value:.4f} ({agg.exact}/{agg.n})"
    return fmt(value)


def _backend(info: dict[str, object]) -> str:
    extra = ", ".join(
        f"{k} {_kv(v) if isinstance(v, dict) else v}"
        for k, v in info.items()
        if k != "name" and v is not None
    )
    return f"{info.get('name')}" + (f" ({extra})" if extra else "")


def _kv(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def _show(ch: str) -> str:
    return "(missed)" if ch == "" else ch


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n] + "..."


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
