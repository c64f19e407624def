"""Write embbench/resources/mteb_presets.json from the installed mteb's model registry (ModelMeta).

    python scripts/generate_presets.py           # (re)write the file
    python scripts/generate_presets.py --check   # exit 1 when the file differs from what mteb gives now

For each preset model: the revision mteb pins, licence, max tokens, parameters, embedding size, and the prompt
table embbench resolves (spec/prompts.py) to the very strings mteb's wrappers pass to sentence-transformers for
each ruMTEB task and role (``mteb_prompt`` below calls mteb's own wrapper methods).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "embbench" / "resources" / "mteb_presets.json"
RUMTEB = ROOT / "embbench" / "resources" / "tasks" / "rumteb"
# preset name -> mteb model name; presets also hand-written in spec/presets.py take only their metadata from here
MODELS = {
    "giga-embeddings-instruct": "ai-sage/Giga-Embeddings-instruct",
    "qwen3-embedding-0.6b": "Qwen/Qwen3-Embedding-0.6B",
    "qwen3-embedding-4b": "Qwen/Qwen3-Embedding-4B",
    "qwen3-embedding-8b": "Qwen/Qwen3-Embedding-8B",
    "berta": "sergeyzh/BERTA",
    "labse-ru-turbo": "sergeyzh/LaBSE-ru-turbo",
    "rubert-tiny-turbo": "sergeyzh/rubert-tiny-turbo",
    "frida": "ai-forever/FRIDA",
    "user2-base": "deepvk/USER2-base",
    "user2-small": "deepvk/USER2-small",
    "user-base": "deepvk/USER-base",
    "user-bge-m3": "deepvk/USER-bge-m3",
    "bge-m3": "BAAI/bge-m3",
    "multilingual-e5-small": "intfloat/multilingual-e5-small",
    "multilingual-e5-base": "intfloat/multilingual-e5-base",
    "multilingual-e5-large": "intfloat/multilingual-e5-large",
    "multilingual-e5-large-instruct": "intfloat/multilingual-e5-large-instruct",
    "rubert-tiny2": "cointegrated/rubert-tiny2",
    "labse-en-ru": "cointegrated/LaBSE-en-ru",
    "sbert-large-nlu-ru": "ai-forever/sbert_large_nlu_ru",
}
ROLES = {"retrieval": ("query", "document"), "reranking": ("query", "document")}  # other categories: no role
# mteb's abstask default instructions per category (for a team's own tasks, which mteb does not know)
DEFAULT_TASK = {
    "classification": "InappropriatenessClassification",
    "multilabel_classification": "CEDRClassification",
    "clustering": "GeoreviewClusteringP2P",
    "pair_classification": "TERRa",
    "sts": "RuSTSBenchmarkSTS",
    "retrieval": "RuBQRetrieval",
    "reranking": "RuBQReranking",
}


def rumteb_tasks() -> dict[str, str]:
    """ruMTEB task name -> embbench category, from the generated task files."""
    import yaml

    out = {}
    for f in sorted(RUMTEB.glob("*.yaml")):
        if f.name != "suite.yaml":
            raw = yaml.safe_load(f.read_text(encoding="utf-8"))
            out[raw["name"]] = raw["category"]
    return out


def _instruct_wrapper(meta: Any) -> Any | None:
    """mteb's InstructSentenceTransformerModel as the model's loader configures it, without loading weights."""
    import importlib

    from mteb.models.instruct_wrapper import InstructSentenceTransformerModel

    kwargs = dict(meta.loader_kwargs or {})
    loader = meta.loader
    if loader is not InstructSentenceTransformerModel:
        if getattr(loader, "__name__", "") != "q3e_instruct_loader":
            return None
        # Qwen3's loader: the module's callable template, instructions on queries only
        kwargs["instruction_template"] = importlib.import_module(loader.__module__).instruction_template
        kwargs["apply_instruction_to_passages"] = False
    w = object.__new__(InstructSentenceTransformerModel)
    w.instruction_template = kwargs.get("instruction_template")
    w.prompts_dict = kwargs.get("prompts_dict")
    w.apply_instruction_to_passages = kwargs.get("apply_instruction_to_passages", True)
    return w


def mteb_prompt(model: str, task: str, role: str | None) -> str | None:
    """The prompt string mteb's wrapper for `model` prepends for `task` and `role` (None: the model's own
    sentence-transformers prompts decide, which only the downloaded model knows)."""
    import mteb
    from mteb.models.abs_encoder import get_prompt_name
    from mteb.types import PromptType

    meta = mteb.get_model_meta(model)
    metadata = mteb.get_task(task).metadata
    prompt_type = PromptType(role) if role else None
    w = _instruct_wrapper(meta)
    if w is not None:
        if role == "document" and not w.apply_instruction_to_passages:
            return ""
        return str(w.get_task_instruction(metadata, prompt_type))
    prompts = (meta.loader_kwargs or {}).get("model_prompts")
    if prompts is None:
        return None
    name = get_prompt_name(prompts, metadata, prompt_type)
    return prompts.get(name, "") if name else ""


def instruct_table(model: str, tasks: dict[str, str]) -> dict[str, str]:
    """An instruction model's prompt table: one key per ruMTEB task (and role), category defaults for others."""
    table: dict[str, str] = {}
    for task, category in tasks.items():
        for role in ROLES.get(category, (None,)):
            table[f"{task}-{role}" if role else task] = mteb_prompt(model, task, role) or ""
    for category, task in DEFAULT_TASK.items():
        from mteb.abstasks.abstask import get_abstask_prompt

        instruction = get_abstask_prompt(task)
        w = _instruct_wrapper(__import__("mteb").get_model_meta(model))
        for role in ROLES.get(category, (None,)):
            from mteb.types import PromptType

            pt = PromptType(role) if role else None
            text = (
                ""
                if role == "document" and not w.apply_instruction_to_passages
                else w.format_instruction(instruction, pt)
            )
            table[f"{category}-{role}" if role else category] = text
    return table


def render() -> dict[str, Any]:
    import mteb

    tasks = rumteb_tasks()
    out: dict[str, Any] = {"mteb": mteb.__version__, "presets": {}}
    for preset, model in MODELS.items():
        meta = mteb.get_model_meta(model)
        entry: dict[str, Any] = {
            "model": model,
            "revision": meta.revision,
            "license": meta.license,
            "max_tokens": int(meta.max_tokens) if meta.max_tokens else None,
            "n_parameters": meta.n_parameters,
            "embed_dim": meta.embed_dim,
        }
        kwargs = meta.loader_kwargs or {}
        if kwargs.get("max_seq_length"):
            entry["max_seq_length"] = int(kwargs["max_seq_length"])
        if kwargs.get("trust_remote_code"):
            entry["trust_remote_code"] = True
        dtype = (kwargs.get("model_kwargs") or {}).get("torch_dtype") or (kwargs.get("model_kwargs") or {}).get("dtype")
        if dtype is not None:
            entry["dtype"] = str(getattr(dtype, "value", dtype))
        if _instruct_wrapper(meta) is not None:
            entry["prompts"] = instruct_table(model, tasks)
        elif "model_prompts" in kwargs:
            entry["prompts"] = dict(kwargs["model_prompts"])
        out["presets"][preset] = entry
    return out


def main(argv: list[str]) -> int:
    text = json.dumps(render(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    if "--check" in argv:
        same = OUT.is_file() and OUT.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{OUT} differs from mteb's registry: run scripts/generate_presets.py")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
