"""ONNX Runtime and OpenVINO backends: a sentence-transformers model exported once, run on CPU at equal vectors.

models.yaml::

    - {name: minilm-onnx, model: sentence-transformers/all-MiniLM-L6-v2, backend: onnx}
    - {name: minilm-int8, model: ..., backend: onnx, options: {quantize: int8, threads: 2}}
    - {name: minilm-ov, model: ..., backend: openvino, options: {threads: 2}}

What runs is the model's own sentence-transformers stack (onnx_export: Transformer, Pooling, Dense, Normalize
traced into one graph), fed as sentence-transformers feeds it: the same tokenizer and max_seq_length, the prompt
prepended, texts sorted by length (sentence_transformers.length_order, as SentenceTransformer.encode) and cut into
batches of batch_size, so every batch has the same padding; truncate_dim and normalize are applied after the graph,
as sentence-transformers applies them after its modules. For BERT-family models onnxruntime runs the graph with
its attention / LayerNorm / GELU subgraphs fused (onnx_fuse: checked against PyTorch like the plain graph).

Cache identity (the embedding cache key, embbench.encode.embedder):
- onnx fp32 has its OWN identity (backend, onnxruntime version, export format), although its vectors are PyTorch's
  up to fp32 rounding (measured: max |diff| 2.8e-7, cosine >= 0.9999999 on MiniLM; every export is checked against
  PyTorch before use, onnx_export.MIN_COSINE / MAX_REL_DIFF). Rounding that small still flips a borderline
  prediction: on the built-in suite one test item of sentirueval2016 changed class, -1.7e-4 accuracy, while every
  other main score was identical (scripts/bench_onnx_suite.py). A shared cache key would let whichever backend
  filled the cache first decide such a number without saying so; with its own key each number has one origin.
- onnx int8 (dynamic quantization, a different model) and openvino (its own kernels and precision: on CPUs with
  bf16 support its default precision is bf16) have their own identity, with the runtime's version and, for
  OpenVINO, the CPU's resolved inference precision: their own cache entries and their own leaderboard rows.
- threads change no vector and are in no identity (provenance records them).
Exports live in <cache root>/exports (onnx_export), shared by onnx and openvino; `embbench cache` leaves them alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np

from embbench._io import dist_version
from embbench.encode.backends.bm25 import options_of
from embbench.encode.backends.onnx_export import EXPORT_FORMAT, Export, ensure_export, ensure_int8, export_key
from embbench.encode.backends.sentence_transformers import SentenceTransformerEncoder, length_order
from embbench.errors import ModelLoadError, UserError, missing_extra
from embbench.spec import ModelSpec

Run = Callable[[dict[str, np.ndarray]], np.ndarray]


class OnnxEncoder:
    """A sentence-transformers model run by onnxruntime (options: quantize none|int8, threads: 0 = runtime's)."""

    runtime = "onnxruntime"
    extra = "onnx"
    needs = ("onnxruntime", "onnx")  # onnx: torch.onnx's exporter and the quantizer write ONNX protobufs with it
    defaults: dict[str, Any] = {"quantize": "none", "threads": 0}  # noqa: RUF012 (read-only table)

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self.where = f"{spec.file or 'models.yaml'}: model '{spec.name}'"
        self.options = options_of(spec, self.defaults)
        self._check_spec()
        for module in self.needs:  # imported now: a missing extra is one line before any work, not a traceback later
            try:
                import_module(module)
            except ImportError:
                raise missing_extra(module, self.extra) from None
        # the PyTorch backend on the same entry: location, identity, prompts, tokenizer and token accounting
        self.torch = SentenceTransformerEncoder(replace(spec, device="cpu"))
        self.similarity_fn = self.torch.similarity_fn
        self.batch_size = spec.batch_size
        self.device = "cpu"
        self.load_seconds: float | None = None
        self.export: Export | None = None
        self._run: Run | None = None
        self._tokenizer: tuple[Any, int | None] | None = None

    def _check_spec(self) -> None:
        s, o = self.spec, self.options
        if o.get("quantize", "none") not in ("none", "int8"):
            raise UserError(self.where, f"unknown quantize {o['quantize']!r}", field="options.quantize", fix="use int8")
        if o["threads"] < 0:
            raise UserError(self.where, f"threads must be >= 0, got {o['threads']}", field="options.threads")
        if s.dtype not in (None, "float32"):
            raise UserError(
                self.where, f"the {self.runtime} backend runs float32, not {s.dtype}", field="dtype", fix="remove it"
            )
        if s.device not in (None, "cpu"):
            raise UserError(self.where, f"the {self.runtime} backend runs on the CPU", field="device", fix="remove it")

    # --- identity -------------------------------------------------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        """Its own identity, fp32 and int8 alike (see the module docstring): the model's, plus the runtime, the
        export format (the graph that runs) and the quantization."""
        own = {"backend": "onnx", "onnxruntime": dist_version("onnxruntime"), "export_format": EXPORT_FORMAT}
        if self.options["quantize"] == "int8":
            own["quantize"] = "int8"
        return {**self.torch.identity(), **own}

    def provenance(self) -> dict[str, Any]:
        """The PyTorch backend's provenance, plus the runtime, its version, quantization, threads and export."""
        info = {
            **self.torch.provenance(),
            **self.identity(),
            "backend": self.spec.backend,
            "runtime": self.runtime,
            "runtime_version": dist_version(self.runtime),
            "quantize": self.options.get("quantize", "none"),
            "threads": self.options["threads"] or "runtime default",
            "batch_size": self.batch_size,
        }
        if self.export is not None:
            info.update(
                device="cpu",
                dim=self.export.meta["dim"],
                max_seq_length=self.max_tokens,
                export=str(self.export.folder),
                export_parity=self.export.meta.get("parity"),
                load_seconds=round(self.load_seconds or 0.0, 3),
            )
        return info

    def builtin_prompts(self) -> dict[str, str]:
        return self.torch.builtin_prompts()

    def n_params(self) -> int:
        """The exported model's parameter count (backends.ParamCounter; loads the export if needed)."""
        self.model  # noqa: B018 (the property loads the export)
        assert self.export is not None
        return int(self.export.meta["n_params"])

    def batch_order(self, texts: Sequence[str]) -> list[np.ndarray]:
        """The batches encode(texts) forms (backends.BatchOrdered): sentence-transformers' order, batch_size each."""
        order = length_order(texts)
        return [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    # --- token accounting: the PyTorch backend's tokenizer, without weights ---------------------------------------
    @property
    def max_tokens(self) -> int | None:
        return self.torch.max_tokens

    def count_tokens(self, texts: list[str], prompt: str) -> np.ndarray:
        return self.torch.count_tokens(texts, prompt)

    # --- encoding -------------------------------------------------------------------------------------------------
    @property
    def model(self) -> Run:
        """The loaded graph (exported on first use); a run served from the cache never loads it."""
        if self._run is None:
            t0 = time.perf_counter()
            export = ensure_export(self._export_key(), self._torch_model, self.fp32_runner, self.where)
            path = self.graph(export)
            if self.options.get("quantize") == "int8":
                path = ensure_int8(export)
            try:
                self._run = self.session(path, export.meta["inputs"], self.options["threads"])
            except Exception as exc:
                raise ModelLoadError(f"{self.runtime} cannot load {path}: {type(exc).__name__}: {exc}") from exc
            self.export = export
            self.load_seconds = time.perf_counter() - t0
        return self._run

    @staticmethod
    def graph(export: Export) -> Path:
        """The fp32 graph this runtime runs: onnxruntime's fused one where the export has it (onnx_fuse)."""
        return export.fused or export.fp32

    def _export_key(self) -> str:
        """What the graph depends on: the model's content and how it is assembled, not max length or prompts."""
        ident = self.torch.identity()
        return export_key({k: ident[k] for k in ("model", "pooling", "model_kwargs", "tokenizer_kwargs")})

    def _torch_model(self) -> Any:
        """A throw-away PyTorch copy of the model, for the export (freed once exported)."""
        return SentenceTransformerEncoder(replace(self.spec, device="cpu")).model

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        """float32 vectors, batched as SentenceTransformer.encode batches (length-sorted, batch_size each)."""
        run = self.model
        assert self.export is not None
        out = np.zeros((len(texts), int(self.export.meta["dim"])), dtype=np.float32)
        for rows in self.batch_order(texts):
            feeds = self._features([texts[i] for i in rows], prompt)
            out[rows] = run({n: feeds[n] for n in self.export.meta["inputs"]})
        if self.spec.truncate_dim:
            out = np.ascontiguousarray(out[:, : self.spec.truncate_dim])
        if self.spec.normalize:  # torch.nn.functional.normalize: x / max(||x||, 1e-12)
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def _features(self, batch: list[str], prompt: str) -> dict[str, np.ndarray]:
        """int64 tokenizer tensors of prompt + text, padded to the longest and truncated to max_seq_length."""
        if self._tokenizer is None:
            # the PyTorch backend's weight-free tokenizer for the usual layout; other layouts: the model's preprocess
            self._tokenizer = self.torch._standalone_tokenizer() or (None, None)
        tokenizer, max_len = self._tokenizer
        if tokenizer is None:
            features = self.torch.model.preprocess(batch, prompt=prompt)
            return {k: v.numpy().astype(np.int64) for k, v in features.items() if hasattr(v, "numpy")}
        kwargs: dict[str, Any] = {"max_length": max_len} if max_len else {}
        enc = tokenizer(
            [prompt + t for t in batch], padding=True, truncation="longest_first", return_tensors="np", **kwargs
        )
        return {k: np.asarray(v, dtype=np.int64) for k, v in enc.items()}

    # --- the runtime ----------------------------------------------------------------------------------------------
    @staticmethod
    def session(path: Path, inputs: list[str], threads: int) -> Run:
        """An onnxruntime CPU session of path as a feeds -> sentence_embedding function."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        # no spin-waiting between ops: on a shared CPU spinning threads burn the cores the others need (measured
        # here on 2 busy cores: 10.5 vs 8.7 MiniLM passages per CPU-second)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return lambda feeds: session.run(["sentence_embedding"], feeds)[0]

    @staticmethod
    def fp32_runner(path: Path, inputs: list[str]) -> Run:
        """The runtime in exact fp32, for the export's parity check."""
        return OnnxEncoder.session(path, inputs, 0)


class OpenVINOEncoder(OnnxEncoder):
    """The same exported graph run by OpenVINO on the CPU (options: threads: 0 = OpenVINO's default)."""

    runtime = "openvino"
    extra = "openvino"
    needs = ("openvino", "onnx")
    defaults: dict[str, Any] = {"threads": 0}  # noqa: RUF012

    def identity(self) -> dict[str, Any]:
        """Its own identity: OpenVINO's kernels and the CPU's default precision (bf16 where the CPU has it)."""
        import openvino as ov

        precision = ov.Core().get_property("CPU", "INFERENCE_PRECISION_HINT").to_string()
        return {**self.torch.identity(), "backend": "openvino", "openvino": ov.__version__, "precision": precision}

    @staticmethod
    def session(path: Path, inputs: list[str], threads: int, precision: str | None = None) -> Run:
        """An OpenVINO CPU model compiled from the ONNX file, as a feeds -> sentence_embedding function."""
        import openvino as ov

        config: dict[str, Any] = {"INFERENCE_NUM_THREADS": threads} if threads else {}
        if precision:
            config["INFERENCE_PRECISION_HINT"] = precision
        compiled = ov.Core().compile_model(str(path), "CPU", config)
        request = compiled.create_infer_request()
        output = compiled.output(0)
        return lambda feeds: np.array(request.infer(feeds)[output], dtype=np.float32)

    @staticmethod
    def fp32_runner(path: Path, inputs: list[str]) -> Run:
        return OpenVINOEncoder.session(path, inputs, 0, precision="f32")

    @staticmethod
    def graph(export: Export) -> Path:
        """The plain graph: the fused one holds onnxruntime's own operators, which OpenVINO does not have."""
        return export.fp32
