"""A self-contained HTML report: summary, groups, character errors, and every region with its
crop thumbnail, target and read text side by side, differing characters highlighted.

Rows come worst first (wrong before right, then by NED); every column header sorts. The
file embeds its thumbnails (JPEG, base64) and needs no network or script from elsewhere.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from glyphgen.eval.metrics import Aggregate, alignment
from glyphgen.eval.report import RegionResult, Report
from glyphgen.eval.table import GROUP_TITLES, METRIC_NAMES, fmt

_CSS = """
:root { --bad: #c62828; --bad-bg: #ffebee; --good: #2e7d32; --good-bg: #e8f5e9; --ins-bg: #fff3cd;
  --muted: #667; --line: #e3e6ea; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", "Noto Sans SC",
  "PingFang SC", "Microsoft YaHei", sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
header { background: #1d2330; color: #fff; padding: 14px 24px; }
header h1 { font-size: 18px; margin: 0 0 4px; }
header .meta { color: #b8c0cc; font-size: 12px; }
main { padding: 16px 24px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin-bottom: 14px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 150px; }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 24px; font-weight: 600; }
.card .ceiling { color: var(--muted); font-size: 12px; }
.gate { display: inline-block; border-radius: 12px; padding: 2px 10px; margin: 0 6px 6px 0; font-size: 12px; }
.gate.pass { background: var(--good-bg); color: var(--good); }
.gate.fail { background: var(--bad-bg); color: var(--bad); font-weight: 600; }
section { margin: 18px 0; }
h2 { font-size: 15px; margin: 0 0 8px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 12px; }
.grid td:first-child { white-space: nowrap; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); width: 100%; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: middle; }
th { background: #eef0f3; font-weight: 600; font-size: 12px; white-space: nowrap; }
th.sort { cursor: pointer; user-select: none; }
th.sort:after { content: " \\2195"; color: #99a; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.text { font-size: 17px; letter-spacing: 0.04em; white-space: nowrap; }
td.thumb img { display: block; max-height: 40px; border: 1px solid var(--line); }
tr.wrong td.mark { border-left: 4px solid var(--bad); }
tr.right td.mark { border-left: 4px solid var(--good); }
del, ins { text-decoration: none; border-radius: 3px; padding: 0 1px; }
del { background: var(--bad-bg); color: var(--bad); font-weight: 600; }
ins { background: var(--ins-bg); color: #8a5a00; font-weight: 600; }
.gap { color: #bbb; }
.flag { font-size: 11px; border-radius: 8px; padding: 1px 6px; margin-left: 4px; white-space: nowrap; }
.flag.uncovered { background: #ede7f6; color: #4527a0; }
.flag.judge { background: #e3f2fd; color: #1565c0; }
.small { color: var(--muted); font-size: 12px; }
.controls { margin: 6px 0 8px; display: flex; gap: 16px; align-items: center; }
.controls input[type=search] { padding: 4px 8px; border: 1px solid #ccd; border-radius: 4px; width: 260px; }
"""

_JS = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th.sort').forEach(function (th, col) {
    th.addEventListener('click', function () {
      var body = table.tBodies[0], rows = Array.from(body.rows);
      var idx = Array.from(th.parentNode.children).indexOf(th);
      var asc = th.dataset.dir !== 'asc'; th.dataset.dir = asc ? 'asc' : 'desc';
      rows.sort(function (a, b) {
        var x = a.cells[idx].dataset.v, y = b.cells[idx].dataset.v;
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : String(x).localeCompare(String(y));
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
var q = document.getElementById('q'), wrong = document.getElementById('wrong');
function filter() {
  var text = q.value.trim();
  document.querySelectorAll('#regions tbody tr').forEach(function (tr) {
    var show = (!wrong.checked || tr.classList.contains('wrong')) &&
               (!text || tr.textContent.indexOf(text) >= 0);
    tr.style.display = show ? '' : 'none';
  });
}
if (q) { q.addEventListener('input', filter); wrong.addEventListener('change', filter); }
"""


def render_html(
    report: Report, *, max_rows: int | None = None, title: str = "glyphgen eval"
) -> str:
    rows = sorted(report.regions, key=RegionResult.worst_first)
    if max_rows is not None:
        rows = rows[:max_rows]
    parts = [
        "<!doctype html><html lang='zh'><head><meta charset='utf-8'>",
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        _header(report, title),
        "<main>",
        _cards(report),
        _gates(report),
        _groups(report),
        _char_errors(report),
        _regions(report, rows),
        _problems(report),
        "</main>",
        f"<script>{_JS}</script></body></html>",
    ]
    return "\n".join(p for p in parts if p)


def write_html(report: Report, path: Path | str, *, max_rows: int | None = None) -> None:
    Path(path).write_text(render_html(report, max_rows=max_rows), encoding="utf-8")


def _header(report: Report, title: str) -> str:
    b = report.backend
    judge = escape(str(b.get("name"))) + (f" · {escape(str(b['model']))}" if b.get("model") else "")
    c = report.counts
    return (
        f"<header><h1>{escape(title)}</h1><div class='meta'>"
        f"{escape(report.annotations)} ({escape(report.format)}) · images {escape(report.images)} · "
        f"judge {judge} · {c.get('samples', 0)} images, {c['regions_scored']} regions, "
        f"{c['problems']} problems · {escape(str(report.timing.get('started', '')))}</div></header>"
    )


def _cards(report: Report) -> str:
    cards = []
    for key in ("sentence_acc", "ned", "ratio", "char_precision", "char_recall"):
        value = getattr(report.summary, key)
        ceiling = ""
        if report.ceiling is not None:
            ceiling = f"<div class='ceiling'>OCR ceiling {fmt(getattr(report.ceiling.summary, key))}</div>"
        cards.append(
            f"<div class='card'><div class='label'>{escape(METRIC_NAMES[key])}</div>"
            f"<div class='value'>{fmt(value)}</div>{ceiling}</div>"
        )
    s = report.summary
    note = f"{s.exact} of {s.n} regions exact"
    if report.counts["regions_uncovered"] and s.n != report.all_regions.n:
        note += f"; {report.counts['regions_uncovered']} with characters the judge cannot output are reported apart"
    return f"<div class='cards'>{''.join(cards)}</div><div class='small'>{escape(note)}</div>"


def _gates(report: Report) -> str:
    if not report.gates:
        return ""
    badges = "".join(
        f"<span class='gate {'pass' if g.passed else 'fail'}'>{'PASS' if g.passed else 'FAIL'} "
        f"{escape(g.name)}: {escape(g.message)}</span>"
        for g in report.gates
    )
    return f"<section><h2>Gates</h2>{badges}</section>"


def _groups(report: Report) -> str:
    tables = []
    for key, groups in report.groups.items():
        if len(groups) < 2 and "unknown" in groups:
            continue
        twins = report.ceiling.groups.get(key, {}) if report.ceiling else {}
        head = "<tr><th>group</th><th class='num'>regions</th><th class='num'>sentence acc</th><th class='num'>NED</th><th class='num'>ratio</th>"
        head += "<th class='num'>ceiling acc</th></tr>" if report.ceiling else "</tr>"
        body = "".join(
            f"<tr><td>{escape(label)}</td><td class='num'>{a.n}</td>{_num(a.sentence_acc)}{_num(a.ned)}{_num(a.ratio)}"
            + (_num(_acc(twins.get(label))) if report.ceiling else "")
            + "</tr>"
            for label, a in groups.items()
        )
        tables.append(
            f"<div><h2>{escape(GROUP_TITLES.get(key, key))}</h2><table>{head}{body}</table></div>"
        )
    return f"<section class='grid'>{''.join(tables)}</section>" if tables else ""


def _acc(agg: Aggregate | None) -> float | None:
    return None if agg is None else agg.sentence_acc


def _num(value: float | None) -> str:
    return f"<td class='num'>{fmt(value)}</td>"


def _char_errors(report: Report) -> str:
    if not report.char_errors:
        return ""
    rows = []
    for e in report.char_errors[:30]:
        read_as = " ".join(
            f"<span>{escape(r) if r else '<i>missed</i>'}&thinsp;×{n}</span>"
            for r, n in list(e.read_as.items())[:6]
        )
        rows.append(
            f"<tr><td class='text'>{escape(e.char)}</td><td class='num'>{e.count}</td>"
            f"<td class='num'>{e.wrong}</td><td class='num'>{e.error_rate:.2f}</td><td>{read_as}</td></tr>"
        )
    return (
        "<section><h2>Characters most often wrong</h2><table><tr><th>char</th><th class='num'>in targets</th>"
        "<th class='num'>wrong</th><th class='num'>rate</th><th>read as</th></tr>"
        + "".join(rows)
        + "</table></section>"
    )


def _regions(report: Report, rows: list[RegionResult]) -> str:
    more = len(report.regions) - len(rows)
    ceiling_head = "<th class='sort'>ceiling read</th>" if report.ceiling else ""
    out = [
        "<section><h2>Regions, worst first</h2>",
        "<div class='controls'><input id='q' type='search' placeholder='filter (text, image, font)'>"
        "<label><input id='wrong' type='checkbox'> wrong only</label>"
        "<span class='small'>click a column header to sort</span></div>",
        "<table id='regions' class='sortable'><thead><tr><th class='sort'>#</th><th>crop</th>"
        "<th class='sort'>target</th><th class='sort'>read</th><th class='sort num'>NED</th>"
        f"<th class='sort num'>ratio</th><th class='sort num'>conf.</th>{ceiling_head}"
        "<th class='sort'>font</th><th class='sort'>image</th></tr></thead><tbody>",
    ]
    for rank, r in enumerate(rows, start=1):
        target_html, read_html = _diff(r.target_norm, r.read_norm)
        jpeg = report.thumbnails.get(r.key)
        thumb = (
            f"<img alt='' src='data:image/jpeg;base64,{base64.b64encode(jpeg).decode()}'>"
            if jpeg
            else ""
        )
        flags = ""
        if r.covered is False:
            flags += f"<span class='flag uncovered' title='the judge cannot output these'>judge lacks {escape(r.uncovered_chars)}</span>"
        if r.ceiling_exact is False:
            flags += "<span class='flag judge' title='the judge misreads the ground-truth image too'>judge fails on GT</span>"
        ceiling = ""
        if report.ceiling:
            ceiling = f"<td class='text' data-v='{escape(r.ceiling_read or '')}'>{escape(r.ceiling_read or '-')}</td>"
        out.append(
            f"<tr class='{'right' if r.exact else 'wrong'}'>"
            f"<td class='mark num' data-v='{rank}'>{rank}</td><td class='thumb'>{thumb}</td>"
            f"<td class='text' data-v='{escape(r.target_norm)}'>{target_html}{flags}</td>"
            f"<td class='text' data-v='{escape(r.read_norm)}'>{read_html}</td>"
            f"<td class='num' data-v='{r.ned:.6f}'>{r.ned:.3f}</td>"
            f"<td class='num' data-v='{r.ratio:.6f}'>{r.ratio:.3f}</td>"
            f"<td class='num' data-v='{r.confidence:.6f}'>{r.confidence:.2f}</td>{ceiling}"
            f"<td data-v='{escape(r.font)}'>{escape(r.font)}</td>"
            f"<td class='small' data-v='{escape(r.image)}'>{escape(r.image)}#{r.region}</td></tr>"
        )
    out.append("</tbody></table>")
    if more > 0:
        out.append(
            f"<p class='small'>{more} more regions (the best ones) are in the JSON report.</p>"
        )
    out.append("</section>")
    return "".join(out)


def _diff(target: str, read: str) -> tuple[str, str]:
    """Target with missed/substituted characters in <del>, read with wrong/extra ones in <ins>."""
    t_html, r_html = [], []
    for op, t, r in alignment(target, read):
        if op == "equal":
            t_html.append(escape(t))
            r_html.append(escape(r))
        else:
            if t:
                t_html.append(f"<del>{escape(t)}</del>")
            if r:
                r_html.append(f"<ins>{escape(r)}</ins>")
            if op == "delete":
                r_html.append(f"<span class='gap'>{'_' * len(t)}</span>")
    return "".join(t_html), "".join(r_html) or "<span class='gap'>(nothing read)</span>"


def _problems(report: Report) -> str:
    if not report.problems:
        return ""
    rows = "".join(
        f"<tr><td>{escape(p.where)}</td><td>{escape(p.image or '')}</td>"
        f"<td class='num'>{'' if p.region is None else p.region}</td><td>{escape(p.kind)}</td>"
        f"<td>{escape(p.message)}</td></tr>"
        for p in report.problems[:500]
    )
    return (
        f"<section><h2>Problems ({len(report.problems)})</h2><table><tr><th>where</th><th>image</th>"
        f"<th class='num'>region</th><th>kind</th><th>message</th></tr>{rows}</table></section>"
    )
