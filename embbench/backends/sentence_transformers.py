"""sentence-transformers backend: hub id, local folder or pkg://package/path, with the options people set."""

from __future__ import annotations

import hashlib
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..config import ModelSpec
from ..errors import ModelUnavailable, UserError


def _folder_hash(folder: Path) -> str:
    """Content hash of a model folder (file names and bytes), the identity of a local model."""
    h = hashlib.sha256()
    for p in sorted(q for q in folder.rglob("*") if q.is_file() and ".git" not in q.parts):
        h.update(str(p.relative_to(folder)).encode())
        with p.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def resolve_location(spec: ModelSpec) -> tuple[Path, str, str | None]:
    """(local folder, identity string, hub revision) for a hub id, a local folder or pkg://package/sub/path."""
    ref = spec.model
    if ref.startswith("pkg://"):
        package, _, sub = ref[len("pkg://") :].partition("/")
        try:
            folder = Path(str(resources.files(package).joinpath(sub)))
        except ModuleNotFoundError:
            hint = package.replace("_", "-")
            raise ModelUnavailable(f"package '{package}' is not installed (pip install {hint})") from None
        if not folder.is_dir():
            raise UserError(spec.file or "models.yaml", f"model '{spec.name}': {folder} is not a folder", field="model")
        return folder, f"local:{_folder_hash(folder)}", None
    base = spec.file.parent if spec.file else Path.cwd()
    for candidate in (Path(ref).expanduser(), base / ref):
        if candidate.is_dir():
            return candidate.resolve(), f"local:{_folder_hash(candidate)}", None
    if ref.startswith((".", "/", "~")) or ref.count("/") > 1:
        raise UserError(
            spec.file or "models.yaml",
            f"model '{spec.name}': local folder '{ref}' does not exist",
            field="model",
            fix="correct the path (relative to models.yaml) or use a hub id",
        )
    try:
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(ref, revision=spec.revision))
    except Exception as exc:  # offline, unknown repo, gated, ...
        reason = type(exc).__name__
        raise ModelUnavailable(
            f"cannot fetch '{ref}' from the Hugging Face hub ({reason}); "
            "check the name and the network, or point 'model' at a local folder"
        ) from None
    return folder, f"hub:{ref}@{folder.name}", folder.name


class SentenceTransformerEncoder:
    """A SentenceTransformer model; `encode` prepends the given prompt."""

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self.folder, self.model_id, self.revision = resolve_location(spec)
        where = f"{spec.file or 'models.yaml'}: model '{spec.name}'"
        config = self.folder / "config.json"
        if config.is_file() and "auto_map" in json.loads(config.read_text()) and not spec.trust_remote_code:
            raise UserError(
                where,
                "this model runs its own code from the hub",
                field="trust_remote_code",
                fix="add 'trust_remote_code: true' if you trust it",
            )
        has_st_config = (self.folder / "modules.json").is_file()
        if spec.pooling and has_st_config:
            raise UserError(
                where,
                "pooling is set by the model's sentence-transformers config",
                field="pooling",
                fix="remove 'pooling' (it is for plain transformers checkpoints)",
            )
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        from sentence_transformers import SentenceTransformer, models

        model_kwargs = dict(spec.model_kwargs)
        if spec.dtype and spec.dtype != "float32":
            model_kwargs["torch_dtype"] = spec.dtype if spec.dtype == "auto" else getattr(torch, spec.dtype)
        common = {"device": spec.device, "trust_remote_code": spec.trust_remote_code, "truncate_dim": spec.truncate_dim}
        if has_st_config or not spec.pooling:
            self.model = SentenceTransformer(
                str(self.folder),
                model_kwargs=model_kwargs or None,
                tokenizer_kwargs=spec.tokenizer_kwargs or None,
                **common,
            )
        else:
            word = models.Transformer(
                str(self.folder),
                model_args=model_kwargs,
                tokenizer_args=spec.tokenizer_kwargs,
                config_args={"trust_remote_code": spec.trust_remote_code},
            )
            mode = {"last": "lasttoken"}.get(spec.pooling, spec.pooling)
            pool = models.Pooling(word.get_word_embedding_dimension(), pooling_mode=mode)
            self.model = SentenceTransformer(modules=[word, pool], **common)
        if spec.max_seq_length:
            self.model.max_seq_length = spec.max_seq_length
        self.similarity_fn = str(getattr(self.model, "similarity_fn_name", None) or "cosine")

    def identity(self) -> dict[str, Any]:
        s = self.spec
        return {
            "backend": "sentence-transformers",
            "model": self.model_id,
            "dtype": s.dtype or "float32",
            "max_seq_length": self.model.max_seq_length,
            "normalize": s.normalize,
            "truncate_dim": s.truncate_dim,
            "pooling": s.pooling,
            "model_kwargs": s.model_kwargs,
            "tokenizer_kwargs": s.tokenizer_kwargs,
        }

    def provenance(self) -> dict[str, Any]:
        return {
            **self.identity(),
            "source": self.spec.model,
            "path": str(self.folder),
            "revision": self.revision,
            "device": str(self.model.device),
            "similarity_fn": self.similarity_fn,
            "dim": (
                getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
            )(),
        }

    def builtin_prompts(self) -> dict[str, str]:
        return dict(getattr(self.model, "prompts", None) or {})

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        vecs = self.model.encode(
            texts,
            prompt=prompt,
            batch_size=self.spec.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=self.spec.normalize,
            show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32)
