"""leaderboard.html: one self-contained page (inline CSS, inline JS to sort tables, charts inlined as data URIs)."""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from embbench.report.model import NA, SPEED_COLUMNS, TIE, fmt
from embbench.report.tables import cell_value, legend, prompts_text, revision_text

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
.charts{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.charts img{width:calc(50% - 8px);min-width:420px;height:auto;border:1px solid #eee}
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


def _td(text: Any, sort: Any = None, cls: str = "") -> str:
    value = "" if text is None else str(text)
    sort_value = value if sort is None else ("" if sort == NA else str(sort))
    c = f' class="{cls}"' if cls else ""
    return f'<td{c} data-v="{escape(sort_value)}">{escape(value)}</td>'


def _num(v: Any, decimals: int = 2) -> str:
    if v == NA:
        return f'<td class="num na" data-v="">{NA}</td>'
    return _td(fmt(v, decimals), sort="" if v is None else v, cls="num")


def _table(head: list[str], rows: list[str], cls: str = "sortable") -> str:
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join(rows)
    return f'<div class="scroll"><table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>'


def _result_td(res: dict[str, Any] | None) -> str:
    if res is None:
        return '<td class="num" data-v=""></td>'
    if res["value"] == NA:
        return f'<td class="num na" data-v="">{NA}</td>'
    cls = "num best" if res.get("best") else "num tie" if res.get("tied_with_best") else "num"
    text = cell_value(res)
    value = fmt(res["value"])
    rest = escape(text[len(value) :])
    return f'<td class="{cls}" data-v="{res["value"]}">{escape(value)}<span class="ci">{rest}</span></td>'


def _image(svg: str | None, title: str) -> str:
    if not svg:
        return ""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img alt="{escape(title)}" title="{escape(title)}" src="data:image/svg+xml;base64,{data}">'


def render(report: dict[str, Any], svgs: dict[str, str] | None = None) -> str:
    """The page: the same numbers as leaderboard.md (both render the report dict)."""
    svgs = svgs or {}
    cats = report["categories"]
    tasks = report["tasks"]
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>embbench leaderboard</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>embbench leaderboard</h1>",
        f'<p class="meta">Generated {escape(report["generated"])} from {report["n_results"]} result files by '
        "<code>embbench report</code>. Scores are each task's main metric &times; 100. A mean is blank when the "
        "model lacks a task it covers or the task is n/a for it. Click a column header to sort.</p>",
        '<ul class="meta">',
    ]
    if report["results_dated"]:
        lo, hi = report["results_dated"]
        out.append(f"<li>Results dated {escape(lo[:10])}" + ("" if lo[:10] == hi[:10] else f" to {escape(hi[:10])}"))
    if report["software"]:
        out.append("<li>Software: " + escape(", ".join(f"{k} {v}" for k, v in report["software"].items())))
    for lib, seen in report["software_mixed"].items():
        out.append(
            f"<li>Software ({escape(lib)} differs): "
            + escape("; ".join(f"{v}: {', '.join(ms)}" for v, ms in seen.items()))
        )
    for hw in report["hardware"]:
        desc = ", ".join(f"{k} {v}" for k, v in hw.items() if k not in ("machine", "models") and v not in (None, ""))
        out.append(f"<li>Hardware (speed of {escape(', '.join(hw['models']))}): {escape(desc)}")
    if not report["hardware"]:
        out.append("<li>Hardware: no speed files")
    out.append("</ul>")
    out += [f'<div class="warn"><b>Warning:</b> {escape(w)}</div>' for w in report["warnings"]]

    out.append("<h2>Summary</h2>")
    head = ["Model", "n/N", "Borda rank", "Mean (Task)", "Mean (Category)", *[escape(c["label"]) for c in cats]]
    rows = []
    for r in report["rows"]:
        n = r["tasks"].split("/")[0]
        rows.append(
            "<tr>"
            + _td(r["model"])
            + _td(r["tasks"], sort=n, cls="num")
            + _num(r["borda_rank"], 0)
            + _num(r["mean_task"])
            + _num(r["mean_category"])
            + "".join(_num(r[f"mean_{c['category']}"]) for c in cats)
            + "</tr>"
        )
    out.append(_table(head, rows))
    out.append(
        '<p class="legend">Borda rank: on each task a model earns (number of models - its rank) points; 1 = most '
        "points (mteb's leaderboard ranking; a missing or n/a task earns nothing).</p>"
    )

    out.append("<h2>Per task</h2>")
    res = {(r["model"], r["task"]): r for r in report["results"]}
    head = ["Model", *[f"{escape(t['task'])}<br><small>{escape(t['label'])}</small>" for t in tasks]]
    rows = [
        "<tr>" + _td(r["model"]) + "".join(_result_td(res.get((r["model"], t["task"]))) for t in tasks) + "</tr>"
        for r in report["rows"]
    ]
    out.append(_table(head, rows, cls="sortable pertask"))
    out.append(f'<p class="legend">{escape(legend(report))} Highlighted: best (bold) and tied ({TIE}).</p>')

    if report["charts"]:
        out.append('<h2>Charts</h2><div class="charts">')
        out += [_image(svgs.get(c["name"]), c["title"]) for c in report["charts"]]
        out.append("</div>")

    if report["speed"]:
        out.append("<h2>Speed and size</h2>")
        head = ["Model", *[h for _, h, _ in SPEED_COLUMNS], "Device", "dtype"]
        rows = [
            "<tr>"
            + _td(s["model"])
            + "".join(_num(s[k], d) for k, _, d in SPEED_COLUMNS)
            + _td(s["device"] or "")
            + _td(s["dtype"] or "")
            + "</tr>"
            for s in report["speed"]
        ]
        out.append(_table(head, rows, cls="sortable speed"))

    if report["truncation"]:
        ttasks = [t["task"] for t in tasks if any(r["task"] == t["task"] for r in report["truncation"])]
        out.append("<h2>Truncation</h2>")
        head = ["Model", "Max tokens", "Tokens / 1000 chars", *[f"% truncated<br>{escape(t)}" for t in ttasks]]
        rows = [
            "<tr>"
            + _td(t["model"])
            + _td(fmt(t["max_tokens"]), cls="num")
            + _num(t["tokens_per_1000_chars"], 0)
            + "".join(_num(t["pct_truncated"].get(k), 1) for k in ttasks)
            + "</tr>"
            for t in report["truncation_by_model"]
        ]
        out.append(_table(head, rows, cls="sortable truncation"))
        out.append(
            "<p class=\"legend\">% of the task's texts longer than the model's token limit (cut before encoding); "
            "tokens per 1000 characters: the mean over the tasks.</p>"
        )

    out.append("<h2>Models</h2>")
    rows = [
        "<tr>"
        + _td(m["model"])
        + _td(m.get("source") or "", cls="text")
        + _td(revision_text(m), cls="text")
        + _td(m["config"].get("dtype") or "")
        + _td("" if m["config"].get("max_seq_length") is None else m["config"]["max_seq_length"])
        + _td(prompts_text(m["prompts"]) or "none", cls="text")
        + "</tr>"
        for m in report["models"]
    ]
    out.append(_table(["Model", "Source", "Revision / content hash", "dtype", "max_seq_length", "Prompts"], rows))

    out.append("<h2>Tasks</h2>")
    rows = [
        "<tr>"
        + _td(t["task"])
        + _td(t["label"])
        + _td(t["main_metric"])
        + _num(t["n_items"], 0)
        + _td(t["source"] or "", cls="text")
        + _td(t["license"] or "", cls="text")
        + "</tr>"
        for t in tasks
    ]
    out.append(_table(["Task", "Category", "Main metric", "Items", "Source", "License"], rows))
    out.append(f"<script>{JS}</script></body></html>")
    return "\n".join(out) + "\n"
