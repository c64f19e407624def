"""`embbench ls`: the lines listing tasks, suites, presets or a models file's entries (cli.py prints them)."""

from __future__ import annotations

from pathlib import Path

from embbench import categories
from embbench.spec.models import ModelSpec
from embbench.spec.presets import preset_table
from embbench.spec.suites import list_suites
from embbench.spec.tasks import HubSource, TaskSpec, suite_members


def task_lines(tasks: list[TaskSpec]) -> list[str]:
    """One line per task: name, category, main metric, split(s), source (a hub task: dataset@revision)."""
    out = [f"{'task':32} {'category':26} {'main metric':14} {'split':15} source"]
    for t in tasks:
        metric = t.main_metric or categories.get(t.category).MAIN_METRIC
        source = f"hf:{t.source.short}" if isinstance(t.source, HubSource) else t.reference
        out.append(f"{t.name:32} {t.category:26} {metric:14} {t.eval_split:15} {source}")
    return out


def suite_lines() -> list[str]:
    """One line per suite: name, tasks, benchmark, where it lives (built in, or ./tasks/<name>)."""
    out = [f"{'suite':14} {'tasks':>5}  {'benchmark':18} where"]
    for s in list_suites():
        where = "built in" if s.builtin else str(s.folder)
        out.append(f"{s.name:14} {len(suite_members(s.folder)):>5}  {s.benchmark or '-':18} {where}")
    return out


def preset_lines() -> list[str]:
    """One line per preset: the hub id, mteb's pinned revision (short), licence, max tokens, size, dimensions."""
    out = [f"{'preset':32} {'model':42} {'revision':9} {'license':14} {'max_tok':>7} {'params':>7} {'dim':>5}"]
    for name, p in sorted(preset_table().items()):
        size = f"{p['n_parameters'] / 1e6:.0f}M" if p.get("n_parameters") else "-"
        out.append(
            f"{name:32} {p['model']:42} {(p.get('revision') or '-')[:7]:9} {p.get('license') or '-':14} "
            f"{p.get('max_tokens') or '-':>7} {size:>7} {p.get('embed_dim') or '-':>5}"
        )
    return out


def model_lines(models: list[ModelSpec], source: Path | str) -> list[str]:
    """One line per entry of a models file: name, backend, model, preset, revision."""
    out = [f"models in {source}:", f"{'name':32} {'backend':22} {'preset':26} model"]
    for m in models:
        rev = f"@{m.revision[:7]}" if m.revision else ""
        out.append(f"{m.name:32} {m.backend:22} {m.preset or '-':26} {m.model}{rev}" + (" (optional)" * m.optional))
    return out
