"""JUnit XML for CI systems (GitLab, Jenkins, GitHub test reporters).

One test suite, ``glyphgen.eval``: a test case per gate (a failed gate is a ``<failure>``),
or a single ``evaluation`` case when no gate is set; when the evaluation itself could not
run, that case carries an ``<error>``. The summary metrics are ``<properties>``. With
``regions=True`` a second suite, ``glyphgen.eval.regions``, has one case per region
(wrong text = failure, target the judge cannot output = skipped).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from glyphgen.eval.report import Report
from glyphgen.eval.table import markdown

SUITE = "glyphgen.eval"


def junit_xml(report: Report | None, *, error: str | None = None, regions: bool = False) -> str:
    root = ET.Element("testsuites", name="glyphgen eval")
    suite = ET.SubElement(root, "testsuite", name=SUITE)
    seconds = f"{report.timing.get('seconds', 0.0):.3f}" if report else "0"
    cases = 0
    failures = 0
    errors = 0
    if report is not None:
        props = ET.SubElement(suite, "properties")
        for key, value in [
            *(
                (f"summary.{k}", getattr(report.summary, k))
                for k in (
                    "n",
                    "exact",
                    "sentence_acc",
                    "ned",
                    "ratio",
                    "char_precision",
                    "char_recall",
                )
            ),
            *(
                (f"ceiling.{k}", getattr(report.ceiling.summary, k))
                for k in ("sentence_acc", "ned", "ratio")
                if report.ceiling is not None
            ),
            ("problems", len(report.problems)),
            ("backend", report.backend.get("name")),
        ]:
            ET.SubElement(props, "property", name=key, value="" if value is None else str(value))
    if error is not None or report is None:
        case = ET.SubElement(suite, "testcase", classname=SUITE, name="evaluation", time=seconds)
        ET.SubElement(
            case, "error", message=error or "could not evaluate", type="CouldNotEvaluate"
        ).text = error
        cases, errors = 1, 1
    elif not report.gates:
        case = ET.SubElement(suite, "testcase", classname=SUITE, name="evaluation", time=seconds)
        ET.SubElement(case, "system-out").text = markdown(report)
        cases = 1
    else:
        for g in report.gates:
            case = ET.SubElement(
                suite, "testcase", classname=f"{SUITE}.gates", name=g.name, time=seconds
            )
            cases += 1
            if not g.passed:
                failures += 1
                ET.SubElement(
                    case, "failure", message=g.message, type="GateFailed"
                ).text = g.message
        ET.SubElement(suite, "system-out").text = markdown(report)
    suite.attrib.update(
        tests=str(cases), failures=str(failures), errors=str(errors), skipped="0", time=seconds
    )

    if report is not None and regions:
        rsuite = ET.SubElement(root, "testsuite", name=f"{SUITE}.regions")
        n_fail = n_skip = 0
        for r in report.regions:
            case = ET.SubElement(
                rsuite,
                "testcase",
                classname=f"{SUITE}.regions",
                name=f"{r.image}#{r.region} {r.target_norm}",
            )
            if r.covered is False:
                n_skip += 1
                ET.SubElement(
                    case, "skipped", message=f"the judge cannot output {r.uncovered_chars}"
                )
            elif not r.exact:
                n_fail += 1
                message = f"expected {r.target_norm!r}, read {r.read_norm!r} (NED {r.ned:.3f})"
                ET.SubElement(case, "failure", message=message, type="TextMismatch").text = message
        rsuite.attrib.update(
            tests=str(len(report.regions)), failures=str(n_fail), errors="0", skipped=str(n_skip)
        )
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(
    report: Report | None, path: Path | str, *, error: str | None = None, regions: bool = False
) -> None:
    Path(path).write_text(junit_xml(report, error=error, regions=regions), encoding="utf-8")
