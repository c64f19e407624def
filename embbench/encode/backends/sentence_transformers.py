"""sentence-transformers backend: hub id, local folder or pkg://package/path, with the options people set."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
import time
import warnings
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from embbench.errors import ModelLoadError, ModelUnavailable, UserError
from embbench.spec import ModelSpec


def length_order(texts: Sequence[str], flatten: bool = False) -> np.ndarray:
    """The order in which SentenceTransformer.encode batches texts: longest first (np.argsort of -len, as it
    does), interleaved longest/shortest when the model flattens its inputs (flash attention, no padding)."""
    order = np.argsort([-len(t) for t in texts])
    if flatten:
        n = len(order)
        mixed = np.empty(n, dtype=order.dtype)
        mixed[0::2] = order[: (n + 1) // 2]
        mixed[1::2] = order[n - 1 : (n - 1) // 2 : -1]
        order = mixed
    return order


def _folder_hash(folder: Path) -> str:
    """Content hash of a model folder, the identity of a local model: each file's relative path and bytes.

    Path and size are length-prefixed, so bytes cannot move between a name and a file or between two files
    (``{a: "bc"}``, ``{ab: "c"}`` and ``{a: "", b: "c"}`` are three models). A git checkout's .git is skipped.
    """
    h = hashlib.sha256()
    for p in sorted(q for q in folder.rglob("*") if q.is_file() and ".git" not in q.relative_to(folder).parts):
        name = p.relative_to(folder).as_posix().encode()
        h.update(len(name).to_bytes(8, "big") + name + p.stat().st_size.to_bytes(8, "big"))
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


# sentence-transformers >= 6 renamed these keyword arguments (the old names still work, with a warning each run)
_RENAMED = {
    "tokenizer_kwargs": "processor_kwargs",
    "model_args": "model_kwargs",
    "tokenizer_args": "processor_kwargs",
    "config_args": "config_kwargs",
}


def current_kwargs(fn: Any, **kwargs: Any) -> dict[str, Any]:
    """kwargs under the names fn takes: the new name where the installed version has it (no deprecation warning)."""
    params = inspect.signature(fn).parameters
    return {(_RENAMED[k] if k in _RENAMED and _RENAMED[k] in params else k): v for k, v in kwargs.items()}


def dtype_kwargs(dtype: str | None) -> dict[str, Any]:
    """transformers' model_kwargs for a spec's dtype (none for float32, the default): the one place both the
    encoder and the cross-encoder reranker turn `dtype:` into what from_pretrained takes."""
    if not dtype or dtype == "float32":
        return {}
    import torch
    import transformers

    key = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"  # renamed in 5
    return {key: dtype if dtype == "auto" else getattr(torch, dtype)}


def is_oom(exc: BaseException) -> bool:
    """A CUDA / MPS out-of-memory error (torch raises several types for it)."""
    name = type(exc).__name__
    return name == "OutOfMemoryError" or (isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())


def free_accelerator_memory() -> None:
    import gc

    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


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
        self.has_st_config = has_st_config
        st_config = self.folder / "config_sentence_transformers.json"
        self.st_config = json.loads(st_config.read_text()) if st_config.is_file() else {}
        self.similarity_fn = str(self.st_config.get("similarity_fn_name") or "cosine")
        self._model: Any = None
        self.load_seconds: float | None = None
        self.batch_size = spec.batch_size
        self._tokenizer: tuple[Any, int | None] | None = None  # (tokenizer, max length) loaded without the weights

    @property
    def model(self) -> Any:
        """The SentenceTransformer, loaded on first use (a run served from the cache never loads it)."""
        if self._model is None:
            t0 = time.perf_counter()
            try:
                self._model = self._load()
            except Exception as exc:
                raise ModelLoadError(f"loading {self.folder} failed: {type(exc).__name__}: {exc}") from exc
            self.load_seconds = time.perf_counter() - t0
        return self._model

    @property
    def device(self) -> str:
        """Where the model runs, or will once loaded (the entry's device, else sentence-transformers' own choice),
        without loading it: the runner searches there (run/runner.py search_for)."""
        if self._model is not None:
            return str(self._model.device)
        if self.spec.device:
            return self.spec.device
        from sentence_transformers.util import get_device_name

        return str(get_device_name())

    def _load(self) -> Any:
        spec = self.spec
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import transformers
        from sentence_transformers import SentenceTransformer

        # transformers' "Loading weights" bar is noise in the run's own progress (the CLI draws its own)
        transformers.utils.logging.disable_progress_bar()

        try:  # sentence-transformers >= 6
            from sentence_transformers.sentence_transformer import modules as models
        except ImportError:  # older releases
            models = importlib.import_module("sentence_transformers.models")

        model_kwargs = {**spec.model_kwargs, **dtype_kwargs(spec.dtype)}
        common: dict[str, Any] = {
            "device": spec.device,
            "trust_remote_code": spec.trust_remote_code,
            "truncate_dim": spec.truncate_dim,
        }
        if self.has_st_config or not spec.pooling:
            # sentence-transformers >= 6 calls it processor_kwargs (tokenizer_kwargs still works, with a warning)
            kwargs: dict[str, Any] = current_kwargs(
                SentenceTransformer, model_kwargs=model_kwargs or None, tokenizer_kwargs=spec.tokenizer_kwargs or None
            )
            model = SentenceTransformer(str(self.folder), **kwargs, **common)
        else:
            word = models.Transformer(
                str(self.folder),
                **current_kwargs(
                    models.Transformer,
                    model_args=model_kwargs,
                    tokenizer_args=spec.tokenizer_kwargs,
                    config_args={"trust_remote_code": spec.trust_remote_code},
                ),
            )
            mode = {"last": "lasttoken"}.get(spec.pooling, spec.pooling)
            dim = (getattr(word, "get_embedding_dimension", None) or word.get_word_embedding_dimension)()
            pool = models.Pooling(dim, pooling_mode=mode)
            model = SentenceTransformer(modules=[word, pool], **common)
        if spec.max_seq_length:
            model.max_seq_length = spec.max_seq_length
        return model

    def identity(self) -> dict[str, Any]:
        """The model's content (hub commit or folder hash) plus every option that changes a vector."""
        s = self.spec
        return {
            "backend": "sentence-transformers",
            "model": self.model_id,
            "dtype": s.dtype or "float32",
            "max_seq_length": s.max_seq_length,
            "normalize": s.normalize,
            "truncate_dim": s.truncate_dim,
            "pooling": s.pooling,
            "model_kwargs": s.model_kwargs,
            "tokenizer_kwargs": s.tokenizer_kwargs,
        }

    def provenance(self) -> dict[str, Any]:
        """Identity plus where the model came from and how it ran."""
        info = {
            **self.identity(),
            "source": self.spec.model,
            "path": str(self.folder),
            "revision": self.revision,
            "similarity_fn": self.similarity_fn,
            "batch_size": self.batch_size,
        }
        if self._model is not None:
            m = self._model
            dim_fn = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
            info.update(
                device=str(m.device),
                dim=dim_fn(),
                max_seq_length=m.max_seq_length,
                load_seconds=round(self.load_seconds or 0.0, 3),
            )
        else:
            info["device"] = "not loaded (every vector came from the cache)"
        return info

    def builtin_prompts(self) -> dict[str, str]:
        """Prompts saved in the model's config_sentence_transformers.json."""
        return {k: v for k, v in (self.st_config.get("prompts") or {}).items() if isinstance(v, str)}

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        """float32 vectors; sentence-transformers sorts by length and batches with the model's batch size.

        On a GPU out-of-memory error the batch size is halved and the call retried (down to 1); the smaller batch
        size is kept for the rest of the run and recorded in provenance.
        """
        while True:
            try:
                vecs = self.model.encode(
                    texts,
                    prompt=prompt,
                    batch_size=self.batch_size,
                    convert_to_numpy=True,
                    normalize_embeddings=self.spec.normalize,
                    show_progress_bar=False,
                )
                return np.asarray(vecs, dtype=np.float32)
            except Exception as exc:
                if not is_oom(exc) or self.batch_size == 1:
                    raise
                free_accelerator_memory()
                self.batch_size = max(1, self.batch_size // 2)
                warnings.warn(f"out of memory: retrying with batch_size={self.batch_size}", stacklevel=2)

    def batch_order(self, texts: Sequence[str]) -> list[np.ndarray]:
        """The batches encode(texts) forms (backends.BatchOrdered), read from the loaded model: an executor that
        encodes each batch alone gets the vectors of one local call, bit for bit (a vector depends on its
        batch's padding by ~1e-7)."""
        flatten = getattr(self.model, "_can_flatten_inputs", None)  # private in sentence-transformers >= 5
        order = length_order(texts, bool(flatten()) if callable(flatten) else False)
        return [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    # --- token accounting (embbench.speed.probe / truncation in results): begin ---------------------------------------
    @property
    def max_tokens(self) -> int | None:
        """The model's max_seq_length: inputs longer than this many tokens are truncated."""
        return self._tokenizer_and_max()[1]

    def count_tokens(self, texts: list[str], prompt: str) -> np.ndarray:
        """Tokens of each prompt + text as the model tokenises it, special tokens included, without truncation."""
        tokenizer = self._tokenizer_and_max()[0]
        out = np.zeros(len(texts), dtype=np.int64)
        for i in range(0, len(texts), 4096):  # batched (the fast tokenizer's Rust loop), bounded memory
            chunk = [prompt + t for t in texts[i : i + 4096]]
            enc = tokenizer(
                chunk,
                add_special_tokens=True,
                truncation=False,
                return_attention_mask=False,
                return_token_type_ids=False,
                return_length=True,
                verbose=False,
            )
            out[i : i + len(chunk)] = enc["length"]
        return out

    def _tokenizer_and_max(self) -> tuple[Any, int | None]:
        """The loaded model's tokenizer and max_seq_length; before it loads, the tokenizer alone (no weights).

        The tokenizer alone is used for the usual layout (modules.json starting with a Transformer module, no
        lower-casing) and mirrors sentence-transformers' max length: models.yaml's max_seq_length, else
        sentence_bert_config.json's, else the tokenizer's model_max_length capped at max_position_embeddings.
        Any other layout loads the model.
        """
        if self._model is not None:
            return self._model.tokenizer, self._model.max_seq_length
        if self._tokenizer is None:
            self._tokenizer = self._standalone_tokenizer()
        if self._tokenizer is None:
            return self.model.tokenizer, self.model.max_seq_length
        return self._tokenizer

    def _standalone_tokenizer(self) -> tuple[Any, int | None] | None:
        folder = self.folder
        if self.has_st_config:
            modules = json.loads((folder / "modules.json").read_text())
            first = modules[0] if modules else {}
            if not str(first.get("type", "")).endswith("Transformer"):
                return None
            folder = folder / first.get("path", "")
        sb_file = folder / "sentence_bert_config.json"
        sb_config = json.loads(sb_file.read_text()) if sb_file.is_file() else {}
        if sb_config.get("do_lower_case") or sb_config.get("tokenizer_name_or_path"):
            return None
        from transformers import AutoConfig, AutoTokenizer

        kwargs = {"trust_remote_code": self.spec.trust_remote_code, **self.spec.tokenizer_kwargs}
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(folder), **kwargs)
        except Exception:  # an unusual processor: let sentence-transformers load it
            return None
        max_len = self.spec.max_seq_length or sb_config.get("max_seq_length")
        if not max_len and "model_max_length" not in self.spec.tokenizer_kwargs:
            config = AutoConfig.from_pretrained(str(folder), trust_remote_code=self.spec.trust_remote_code)
            max_len = tokenizer.model_max_length
            positions = getattr(config, "max_position_embeddings", -1)
            if isinstance(positions, int) and positions != -1:
                max_len = min(max_len, positions)
        elif not max_len:
            max_len = tokenizer.model_max_length
        return tokenizer, int(max_len) if max_len else None

    # --- token accounting: end ----------------------------------------------------------------------------------
