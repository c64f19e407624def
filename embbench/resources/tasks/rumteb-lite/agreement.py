"""How well the lite suite's mean ranks the reference models, compared with the full ruMTEB mean.

    python tasks/rumteb-lite/agreement.py

Uses only the published per-task scores (embbench/resources/published_rumteb.json): each model's mean over the lite
tasks against its Mean (Task) and Mean (TaskType) over MTEB(rus, v1.1) (and v1), Spearman's rho and Kendall's tau
over the models. The lite tasks are full ruMTEB tasks (nothing is capped), so a lite run scores exactly these
per-task numbers; what this cannot show is how far a re-run here drifts from the published numbers.
"""

from __future__ import annotations

import sys
from pathlib import Path
from statistics import mean
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent


def lite_tasks() -> list[str]:
    raw = yaml.safe_load((HERE / "suite.yaml").read_text(encoding="utf-8"))
    return [Path(p).name.removesuffix(".yaml") for p in raw["tasks"]]


def agreement(exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """Spearman and Kendall between the lite mean and the full means, over the published reference models."""
    from scipy.stats import kendalltau, spearmanr

    from embbench.report.published import load_published

    doc = load_published()
    lite = lite_tasks()
    listed = [m for m in doc["models"] if m["name"] not in exclude]

    def complete(m: dict[str, Any], tasks: list[str]) -> bool:
        return all(m["scores"].get(t) is not None for t in tasks)

    # a benchmark's ranking needs every task of it (the lite tasks are v1.1 tasks): other models sit out, as on
    # the leaderboard, where a missing task leaves the mean empty
    models = [m for m in listed if complete(m, doc["benchmarks"]["MTEB(rus, v1.1)"])]
    out: dict[str, Any] = {"lite": lite, "models": [m["name"] for m in models], "rows": []}
    for version in ("MTEB(rus, v1.1)", "MTEB(rus, v1)"):
        tasks = doc["benchmarks"][version]
        ranked = [m for m in listed if complete(m, tasks) and complete(m, lite)]
        lite_mean = [mean(m["scores"][t] for t in lite) for m in ranked]
        full_task = [mean(m["scores"][t] for t in tasks) for m in ranked]
        by_type: list[float] = []
        for m in ranked:
            cats: dict[str, list[float]] = {}
            for t in tasks:
                cats.setdefault(doc["tasks"][t]["category"], []).append(m["scores"][t])
            by_type.append(mean(mean(v) for v in cats.values()))
        for label, full in (("Mean (Task)", full_task), ("Mean (TaskType)", by_type)):
            out["rows"].append(
                {
                    "benchmark": version,
                    "against": label,
                    "n_models": len(ranked),
                    "spearman": float(spearmanr(lite_mean, full).statistic),
                    "kendall": float(kendalltau(lite_mean, full).statistic),
                }
            )
    v11 = doc["benchmarks"]["MTEB(rus, v1.1)"]
    out["per_model"] = [
        {
            "model": m["name"],
            "lite_mean": mean(m["scores"][t] for t in lite),
            "v1.1_mean_task": mean(m["scores"][t] for t in v11),
        }
        for m in models
    ]
    return out


def main() -> int:
    res = agreement()
    print(f"lite tasks: {', '.join(res['lite'])}")
    print(f"{len(res['models'])} models: {', '.join(res['models'])}")
    for r in res["rows"]:
        print(
            f"  lite mean vs {r['benchmark']} {r['against']} ({r['n_models']} models): "
            f"Spearman {r['spearman']:.3f}, Kendall {r['kendall']:.3f}"
        )
    sens = agreement(exclude=("multilingual-e5-large-instruct",))
    r = sens["rows"][0]
    print(f"  without multilingual-e5-large-instruct (suspect RiaNewsHN.v2 score): Spearman {r['spearman']:.3f}")
    print("per model (x100): lite mean | v1.1 Mean (Task)")
    for p in sorted(res["per_model"], key=lambda p: -p["v1.1_mean_task"]):
        print(f"  {p['model']:40} {p['lite_mean']:6.2f} | {p['v1.1_mean_task']:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
