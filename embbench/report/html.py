"""leaderboard.html: one self-contained page (inline CSS, inline JS to sort tables, charts inlined as data URIs).

Every text that reaches the page is escaped (html.escape): a task's source or a model's name is never markup.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from embbench.report.cost import cost_note
from embbench.report.model import (
    BORDA_NOTE,
    COMPRESSION_NOTE,
    DECISION_NOTE,
    NA,
    RAG_NOTE,
    TIE,
    Cell,
    HeaderCell,
    Report,
    Table,
    legend,
    subset_note,
)
from embbench.report.sections import provenance_lines

# the sections in page order, as leaderboard.md has them ("decision", "warnings", "charts", "provenance": not
# tables), and each table's CSS classes
LAYOUT = [
    "decision",
    "warnings",
    "not_evaluated",
    "summary",
    "rag",
    "pertask",
    "pipelines",
    "charts",
    "speed",
    "cost",
    "cost_by_task",
    "compression",
    "truncation",
    "provenance",
    "models",
    "tasks",
]
TABLE_CLASS = {"pertask": "sortable pertask", "speed": "sortable speed", "truncation": "sortable truncation"}
SUBSECTIONS = ("models", "tasks")  # h3 under Provenance

CSS = """
body{font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;margin:24px;color:#1b1b1b;max-width:1600px}
h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.2em;margin:1.6em 0 .5em;border-bottom:1px solid #ddd}
h3{font-size:1.05em;margin:1.2em 0 .4em}
p.meta,ul.meta{color:#444;font-size:.9em}ul.meta{padding-left:1.2em;margin:.3em 0}
.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:6px 10px;margin:6px 0;font-size:.9em}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:.85em;margin:.4em 0}
th,td{border:1px solid #ddd;padding:4px 8px;white-space:nowrap}
td.text{white-space:normal;max-width:36em}
th{background:#f3f5f7;cursor:pointer;user-select:none;position:relative}
th.sorted-asc::after{content:" \\25B2";font-size:.7em}th.sorted-desc::after{content:" \\25BC";font-size:.7em}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.best{font-weight:700;background:#e8f5e9}td.tie{background:#f1f8e9}td.na{color:#999}
tbody tr:nth-child(even){background:#fafafa}tbody tr:hover{background:#eef4ff}
.ci{color:#666;font-size:.85em}.legend{font-size:.85em;color:#555;max-width:70em}
.charts{display:flex;flex-direction:column;gap:12px;align-items:flex-start}
.charts img{width:100%;max-width:1100px;height:auto;border:1px solid #eee}
.decision{background:#f4f9f4;border:1px solid #cfe3cf;border-radius:6px;padding:8px 14px;margin:10px 0}
.decision h3{margin:.4em 0}.decision ul{margin:.3em 0;padding-left:1.3em;font-size:.92em}
.rec{font-size:1.1em}
"""

JS = """
(function(){
  window.addEventListener('error',function(e){
    document.documentElement.setAttribute('data-js-error',String(e.message||e));
  });
  function key(td){
    var v=td.getAttribute('data-v');
    if(v===null||v===''){return null;}
    var n=Number(v);return isNaN(n)?v.toLowerCase():n;
  }
  function sortBy(th){
    var table=th.closest('table'),tbody=table.tBodies[0];
    var idx=Array.prototype.indexOf.call(th.parentNode.children,th);
    var desc=!th.classList.contains('sorted-desc');
    Array.prototype.forEach.call(th.parentNode.children,function(h){h.classList.remove('sorted-asc','sorted-desc');});
    th.classList.add(desc?'sorted-desc':'sorted-asc');
    var rows=Array.prototype.slice.call(tbody.rows);
    rows.sort(function(a,b){
      var x=key(a.cells[idx]),y=key(b.cells[idx]);
      if(x===null&&y===null){return 0;}if(x===null){return 1;}if(y===null){return -1;}
      if(typeof x!==typeof y){x=String(x);y=String(y);}
      var c=x<y?-1:x>y?1:0;return desc?-c:c;
    });
    rows.forEach(function(r){tbody.appendChild(r);});
  }
  document.querySelectorAll('table.sortable th').forEach(function(th){
    th.title='click to sort';th.addEventListener('click',function(){sortBy(th);});
  });
  document.documentElement.setAttribute('data-js','ok');
})();
"""


def render(report: Report, svgs: dict[str, str] | None = None) -> str:
    """The page: the same tables as leaderboard.md and the CSVs (all render the report's sections)."""
    data = report.data
    out = _head(data)
    for name in LAYOUT:
        if name == "decision":
            out += _decision(report)
        elif name == "warnings":
            out += [f'<div class="warn"><b>Warning:</b> {escape(w)}</div>' for w in data["warnings"]]
        elif name == "charts":
            out += _charts(data["charts"], svgs or {})
        elif name == "provenance":
            out += _provenance(data)
        elif (table := report.section(name)) is not None:
            tag = "h3" if name in SUBSECTIONS else "h2"
            out += [f"<{tag}>{escape(table.title)}</{tag}>", _table(table)]
            note = _note(name, data)
            if note:
                out.append(f'<p class="legend">{note}</p>')
    out.append(f"<script>{JS}</script></body></html>")
    return "\n".join(out) + "\n"


def _head(data: dict[str, Any]) -> list[str]:
    """The head, the title and what the numbers are."""
    by = escape(str(data.get("generated_by") or "embbench report"))
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>embbench leaderboard</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>embbench leaderboard</h1>",
        f'<p class="meta">Generated {escape(data["generated"])} from {data["n_results"]} result files by '
        f"<code>{by}</code>. Scores are each task's main metric &times; 100. A mean is blank when the "
        "model lacks a task it covers or the task is n/a for it. Click a column header to sort. Provenance "
        "(software, hardware, revisions, sources) is at the end.</p>",
    ]


def _decision(report: Report) -> list[str]:
    """Per use: the recommendation, runners-up and reasons in a box, then the table of every ranked model."""
    out = ["<h2>Decision</h2>"]
    for d in report.data["decision"].values():
        rec = f"Recommended: <strong>{escape(d['recommended'])}</strong>" if d["recommended"] else "No recommendation"
        if d["runners_up"]:
            rec += ". Runners-up: " + escape(", ".join(d["runners_up"]))
        out += [
            f'<div class="decision" id="decision-{escape(d["use"])}">',
            f"<h3>{escape(d['use'])}: {escape(d['label'])}</h3>",
            f'<p class="rec">{rec}.</p>',
            "<ul>" + "".join(f"<li>{escape(r)}</li>" for r in d["reasons"]) + "</ul>",
        ]
        table = report.section(f"decision_{d['use']}")
        if table is not None and table.rows:
            out.append(_table(table))
        out += [f'<p class="legend">{escape(d["score_rule"])}</p>', "</div>"]
    return [*out, f'<p class="legend">{escape(DECISION_NOTE)}</p>']


def _provenance(data: dict[str, Any]) -> list[str]:
    """When and with which software and hardware the numbers were made (sections.provenance_lines)."""
    return ["<h2>Provenance</h2>", '<ul class="meta">', *(f"<li>{escape(x)}" for x in provenance_lines(data)), "</ul>"]


def _th(h: HeaderCell) -> str:
    if not h.sub:
        return f"<th>{escape(h.value)}</th>"
    sub = f"<small>{escape(h.sub)}</small>" if h.sub_small else escape(h.sub)
    return f"<th>{escape(h.value)}<br>{sub}</th>"


def _td(c: Cell) -> str:
    """A cell with its sort key in data-v (blank: sorts last); a score's interval in a smaller span."""
    if c.na:
        return f'<td class="num na" data-v="">{NA}</td>'
    cls = c.style + (" best" if c.best else " tie" if c.tie else "")
    attr = f' class="{cls}"' if cls else ""
    sort = "" if c.value is None else str(c.value)
    body = escape(c.display)
    if c.link and body:  # a SAFE_URL (report/model.py), escaped all the same
        body = f'<a href="{escape(c.link)}" rel="noopener noreferrer">{body}</a>'
    if c.title:
        attr += f' title="{escape(c.title)}"'
    if c.detail is not None:
        body += f'<span class="ci">{escape(c.detail)}</span>'
    return f'<td{attr} data-v="{escape(sort)}">{body}</td>'


def _table(table: Table) -> str:
    th = "".join(_th(h) for h in table.header)
    body = "".join("<tr>" + "".join(_td(c) for c in row) + "</tr>" for row in table.rows)
    cls = TABLE_CLASS.get(table.name, "sortable")
    return f'<div class="scroll"><table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>'


def _image(svg: str | None, title: str) -> str:
    if not svg:
        return ""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img alt="{escape(title)}" title="{escape(title)}" src="data:image/svg+xml;base64,{data}">'


def _charts(charts: list[dict[str, str]], svgs: dict[str, str]) -> list[str]:
    if not charts:
        return []
    folder = escape(charts[0]["png"].rsplit("/", 1)[0])
    note = f'<p class="legend">The charts are also files in the {folder}/ folder next to this page (PNG and SVG).</p>'
    return [
        "<h2>Charts</h2>",
        note,
        '<div class="charts">',
        *[_image(svgs.get(c["name"]), c["title"]) for c in charts],
        "</div>",
    ]


def _note(name: str, data: dict[str, Any]) -> str:
    """The paragraph under a table (already HTML)."""
    if name == "summary":
        return escape(BORDA_NOTE, quote=False)
    if name == "pertask":
        return f"{escape(legend(data['settings']))} Highlighted: best (bold) and tied ({TIE})."
    if name == "speed":
        return escape(
            f"Measured by the speed probe ({data['speed_folder']}/<model>.json holds the sample and the hardware); "
            "machine load 'busy': other processes used a quarter of the CPUs or more during the probe."
        )
    if name == "cost":
        return escape(" ".join([cost_note(data["gpu_hour_usd"]), *data["cost_notes"]]))
    if name == "rag":
        return escape(RAG_NOTE)
    if name == "compression":
        return escape(COMPRESSION_NOTE)
    if name == "truncation":
        return (
            "% of the task's texts longer than the model's token limit (cut before encoding); "
            "tokens per 1000 characters: the mean over the tasks."
        )
    if name == "tasks":
        return escape(subset_note(data["tasks"]))
    return ""
