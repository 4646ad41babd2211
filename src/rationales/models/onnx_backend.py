"""A faster forward for transformer classifiers: ONNX Runtime or bf16, checked first.

The classifier's model is exported once (``torch.onnx.export``, the TorchScript exporter:
no extra dependency beyond ``onnx``) with dynamic batch and sequence axes and a
``logits`` output, and ONNX Runtime runs it with every graph optimisation it has
(``ORT_ENABLE_ALL``), or OpenVINO does. The backend replaces only the forward engine's ``run_batch``: the
same engine still deduplicates, caches and batches; gradient and attention explainers
keep using the torch model, which stays loaded.

Backends (``BACKENDS``):

- ``onnx``: the fp32 graph.
- ``onnx-int8``: dynamic int8 (per-channel int8 weights; each MatMul's input quantised per
  tensor at run time).
- ``openvino-bf16``: the same fp32 ONNX file run by OpenVINO with its inference precision
  set to bf16 (matrix products in bf16 on AMX / AVX-512-BF16 CPUs; on a CPU without bf16
  OpenVINO falls back to fp32).
- ``torch-bf16``: no export: the torch model under ``torch.autocast`` in bfloat16 (matrix
  products in bf16 with fp32 accumulation; LayerNorm and softmax stay fp32), with oneDNN
  on for its batches, which runs bf16 on the AMX / AVX-512-BF16 units of CPUs that have
  them (on others it is slow, and ``optimize`` rejects it).

docs/performance.md ("Forward backends") has what each reached on HateXplain and what
else was tried (blocked 8-bit ``MatMulNBits``, excluding sensitive nodes, smoothing).

No backend is trusted blindly: :func:`optimize` exports every candidate, runs the user's
own data through it and through torch fp32, side by side (alternating order), and keeps
the fastest one whose argmax agreement with torch is at least ``min_agreement`` and that
is faster than torch. It writes that one into the model folder (``model.onnx`` or
``model-int8.onnx`` beside the weights, none for ``torch-bf16``; and ``backend.json``
with its agreement, speed, runtime versions and the hash of the weights it was
measured on).
:func:`rationales.models.load_classifier` then uses it; a ``backend.json`` whose weights
hash no longer matches (the model was retrained or re-saved) is ignored with a warning.

Agreement (:func:`agreement`): ``argmax_agreement`` is the share of inputs whose
predicted class is the same; per input, ``|Δp|`` is the largest absolute change of any
class's probability (``max_c |p_c − p̂_c|``); ``mean_abs_dp`` and ``max_abs_dp`` are its
mean and maximum over the inputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ..errors import InputError, ModelError, ParameterError

#: the file in a model folder that names the accepted backend
BACKEND_FILE = "backend.json"
#: ``torch`` keeps every load on torch; ``auto`` (default) uses a folder's saved backend
BACKEND_ENV = "RATIONALES_BACKEND"
#: each backend and the file it is written to in the model folder (None: it needs none)
BACKENDS: dict[str, str | None] = {
    "onnx": "model.onnx",
    "onnx-int8": "model-int8.onnx",
    "openvino-bf16": "model.onnx",
    "torch-bf16": None,
}
DEFAULT_BACKENDS = ("onnx", "onnx-int8", "openvino-bf16", "torch-bf16")
#: what ``backend=`` accepts besides a backend's name
CHOICES = ("auto", "torch", *BACKENDS)
OPSET = 17
#: the weight files whose hash ties an export to the weights it came from
WEIGHT_FILES = ("config.json", "model.safetensors", "pytorch_model.bin")
INSTALL_HINT = "pip install 'rationales[fast]' (or: pip install onnxruntime onnx openvino)"


# -- dependencies -------------------------------------------------------------------------
def onnxruntime_module() -> Any:
    """``onnxruntime``, or a ModelError that says how to install it."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise ModelError(f"the ONNX Runtime backend needs onnxruntime, which is not installed: "
                         f"{INSTALL_HINT}") from exc
    return onnxruntime


def openvino_module() -> Any:
    """``openvino``, or a ModelError that says how to install it."""
    try:
        import openvino
    except ImportError as exc:
        raise ModelError(f"the openvino-bf16 backend needs openvino, which is not installed: "
                         f"{INSTALL_HINT}") from exc
    return openvino


def _onnx_module() -> Any:
    try:
        import onnx
    except ImportError as exc:
        raise ModelError(f"exporting to ONNX needs the onnx package, which is not installed: "
                         f"{INSTALL_HINT}") from exc
    return onnx


# -- hashes ------------------------------------------------------------------------------
def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def weights_hash(folder: str | Path) -> str:
    """sha256 over the folder's config and weight files (names and contents, in order)."""
    folder = Path(folder)
    files = [folder / n for n in WEIGHT_FILES if (folder / n).is_file()]
    files += sorted(p for p in folder.glob("model-*.safetensors") if p.is_file())
    if not any(p.name != "config.json" for p in files):
        raise ModelError(f"{folder}: no weight file ({', '.join(WEIGHT_FILES[1:])}) to export from")
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode() + b"\0" + file_sha256(p).encode() + b"\0")
    return h.hexdigest()


# -- export and quantisation -----------------------------------------------------------------
def export_onnx(classifier: Any, path: str | Path) -> Path:
    """Export the classifier's model to ONNX: inputs ``input_ids`` and ``attention_mask``
    (batch × sequence, both dynamic), output ``logits``. Eager attention is traced (the
    plain MatMul/Softmax graph that ONNX Runtime fuses and quantises)."""
    import torch

    from .transformer import eager_attention

    _onnx_module()
    path = Path(path)
    words = ["a", "short", "text", "to", "trace", "the", "model", "with"]
    batch = [classifier.encode(words).input_ids, classifier.encode(words[:3]).input_ids]
    input_ids, attention = classifier._batch_tensors(batch)
    model = classifier.model
    with eager_attention(model), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notices
        torch.onnx.export(
            model, (), str(path), kwargs={"input_ids": input_ids, "attention_mask": attention},
            input_names=["input_ids", "attention_mask"], output_names=["logits"],
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                          "attention_mask": {0: "batch", 1: "sequence"}, "logits": {0: "batch"}},
            opset_version=OPSET, dynamo=False)
    return path


def quantize_int8(src: str | Path, dst: str | Path) -> Path:
    """Dynamic int8: per-channel int8 weights, each MatMul's input quantised per tensor."""
    import logging

    onnx = _onnx_module()
    onnxruntime_module()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quiet = logging.getLogger()
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "consider pre-processing" on the root logger
    try:
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        quiet.setLevel(level)
    return Path(dst)


def build(classifier: Any, backend: str, workdir: str | Path) -> Path | None:
    """Export the classifier and make ``backend``'s file in ``workdir``: its path (None
    for a backend that needs no file)."""
    if backend not in BACKENDS:
        raise ParameterError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if backend == "torch-bf16":
        return None
    workdir = Path(workdir)
    fp32 = workdir / "model.onnx"
    if not fp32.is_file():
        export_onnx(classifier, fp32)
    if backend in ("onnx", "openvino-bf16"):
        return fp32
    return quantize_int8(fp32, workdir / "model-int8.onnx")


# -- running --------------------------------------------------------------------------------
def default_threads() -> int:
    """torch's intra-op thread count when torch is loaded (the process's setting), else 1."""
    import sys

    torch = sys.modules.get("torch")
    return int(torch.get_num_threads()) if torch is not None else 1


class OnnxForward:
    """A forward engine's ``run_batch`` on an ONNX Runtime session: id tuples → probabilities.

    ``threads``: the session's intra-op threads (default: torch's thread count, the
    process's setting). Thread-safe (an ONNX Runtime session may run from any thread).
    """

    def __init__(self, path: str | Path, pad_token_id: int, *, threads: int | None = None) -> None:
        ort = onnxruntime_module()
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = int(threads or default_threads())
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.path = Path(path)
        self.threads = options.intra_op_num_threads
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"ONNX Runtime cannot load {path}: {exc}") from exc
        self.inputs = [i.name for i in self.session.get_inputs()]
        missing = {"input_ids", "attention_mask"} - set(self.inputs)
        if missing:
            raise ModelError(f"{path}: the graph has no input {sorted(missing)}; expected input_ids and "
                             f"attention_mask (export it with rationales.models.onnx_backend.export_onnx)")
        self.pad_token_id = int(pad_token_id)

    def __call__(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
        feeds = _feeds(batch, self.pad_token_id, self.inputs)
        return _softmax(self.session.run(["logits"], feeds)[0].astype(np.float64))


def _feeds(batch: Sequence[Sequence[int]], pad_token_id: int, inputs: Iterable[str]) -> dict[str, np.ndarray]:
    """The padded ``input_ids`` and ``attention_mask`` (and zero ``token_type_ids`` when the
    graph asks for them) of a batch of id tuples."""
    longest = max(len(ids) for ids in batch)
    input_ids = np.full((len(batch), longest), pad_token_id, dtype=np.int64)
    attention = np.zeros((len(batch), longest), dtype=np.int64)
    for i, ids in enumerate(batch):
        input_ids[i, : len(ids)] = ids
        attention[i, : len(ids)] = 1
    feeds = {"input_ids": input_ids, "attention_mask": attention}
    if "token_type_ids" in inputs:
        feeds["token_type_ids"] = np.zeros_like(input_ids)
    return feeds


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class OpenvinoForward:
    """A forward engine's ``run_batch`` on OpenVINO (CPU), the ONNX file compiled with
    ``precision`` as its inference precision hint (``bf16``: bf16 matrix products where
    the CPU has them). ``threads``: its inference threads (default: torch's count)."""

    def __init__(self, path: str | Path, pad_token_id: int, *, threads: int | None = None,
                 precision: str = "bf16") -> None:
        import threading

        ov = openvino_module()
        self.path = Path(path)
        self.threads = int(threads or default_threads())
        self.pad_token_id = int(pad_token_id)
        try:
            core = ov.Core()
            self.model = core.compile_model(core.read_model(str(path)), "CPU", {
                "INFERENCE_PRECISION_HINT": precision, "INFERENCE_NUM_THREADS": self.threads,
                "PERFORMANCE_HINT": "LATENCY"})
        except Exception as exc:  # openvino raises its own exception types
            raise ModelError(f"OpenVINO cannot compile {path}: {exc}") from exc
        self.inputs = {i.get_any_name() for i in self.model.inputs}
        self._request = self.model.create_infer_request()
        self._lock = threading.Lock()  # one infer request: one batch at a time

    def __call__(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
        feeds = _feeds(batch, self.pad_token_id, self.inputs)
        with self._lock:
            logits = np.array(self._request.infer(feeds)[self.model.output(0)], dtype=np.float64)
        return _softmax(logits)


class TorchBf16Forward:
    """A forward engine's ``run_batch`` on the classifier's torch model in bfloat16.

    ``torch.autocast`` runs the matrix products in bf16 (fp32 accumulation) and keeps
    LayerNorm and softmax in fp32. oneDNN is switched on for the batch (the engine keeps
    it off by default, see :func:`rationales.models.engine.onednn_off`): its bf16 kernels
    are the ones that use the CPU's AMX / AVX-512-BF16 units.
    """

    threads = None

    def __init__(self, classifier: Any) -> None:
        self.classifier = classifier

    def __call__(self, batch: list[tuple[int, ...]]) -> np.ndarray:
        import torch

        clf = self.classifier
        input_ids, attention = clf._batch_tensors(batch)
        mkldnn: Any = torch.backends.mkldnn  # its flag is a module property mypy cannot see through
        before = mkldnn.enabled
        mkldnn.enabled = True
        try:
            with torch.autocast(input_ids.device.type, dtype=torch.bfloat16):
                logits = clf.model(input_ids=input_ids, attention_mask=attention).logits
        finally:
            mkldnn.enabled = before
        return logits.float().softmax(-1).cpu().numpy()


def make_runner(classifier: Any, backend: str, path: str | Path | None, *,
                threads: int | None = None) -> Callable[[list[tuple[int, ...]]], np.ndarray]:
    """The ``run_batch`` for ``backend`` (``path``: its file, for the ONNX ones)."""
    if backend == "torch-bf16":
        return TorchBf16Forward(classifier)
    if path is None:
        raise ParameterError(f"backend {backend!r} needs its ONNX file")
    if backend == "openvino-bf16":
        return OpenvinoForward(path, classifier.pad_token_id, threads=threads)
    return OnnxForward(path, classifier.pad_token_id, threads=threads)


def use_backend(classifier: Any, backend: str, path: str | Path | None = None, *, threads: int | None = None,
                info: dict[str, Any] | None = None) -> None:
    """Run ``classifier``'s forward engine on ``backend`` (``path``: its ONNX file); the
    engine's cache is emptied (its results came from the previous backend)."""
    runner = make_runner(classifier, backend, path, threads=threads)
    classifier.engine.run_batch = runner
    classifier.engine.clear_cache()
    classifier.forward_backend = {"name": backend, "file": None if path is None else str(path),
                                  "threads": getattr(runner, "threads", None), **(info or {})}


def use_torch(classifier: Any) -> None:
    """Run ``classifier``'s forward engine on its torch model again (cache emptied)."""
    classifier.engine.run_batch = classifier._run_batch
    classifier.engine.clear_cache()
    classifier.forward_backend = {"name": "torch"}


def read_backend(folder: str | Path) -> dict[str, Any] | None:
    """The folder's ``backend.json``, or None when it has none."""
    file = Path(folder) / BACKEND_FILE
    if not file.is_file():
        return None
    try:
        info = json.loads(file.read_text())
    except ValueError as exc:
        raise ModelError(f"{file} is not valid JSON ({exc}); delete it or run `rationales optimize` again") from exc
    if (not isinstance(info, dict) or info.get("backend") not in BACKENDS
            or info.get("file") != BACKENDS[info["backend"]]):
        raise ModelError(f"{file}: expected {{'backend': one of {list(BACKENDS)}, 'file': its file}}; delete it "
                         f"or run `rationales optimize` again")
    return info


def resolve_choice(backend: str | None) -> str:
    """``backend=`` as given (checked), else ``$RATIONALES_BACKEND`` (``auto`` or ``torch``:
    it opts every load out, it does not force a backend), else ``auto``."""
    if backend is None:
        choice = os.environ.get(BACKEND_ENV) or "auto"
        if choice not in ("auto", "torch"):
            raise ParameterError(f"${BACKEND_ENV}={choice!r}: expected auto or torch (name a backend with "
                                 f"load_classifier(..., backend=NAME))")
        return choice
    if backend not in CHOICES:
        raise ParameterError(f"backend={backend!r}: expected one of {', '.join(CHOICES)}")
    return backend


def attach_saved(classifier: Any, folder: str | Path, backend: str | None = None, *,
                 threads: int | None = None) -> str:
    """Use the backend written into ``folder`` by :func:`optimize`, when it may be used.

    ``backend``: ``auto`` (the default; ``$RATIONALES_BACKEND`` when None) uses the saved
    backend when its weights hash matches and its runtime (onnxruntime, openvino) loads
    it, else warns and stays on torch; ``torch`` ignores it; a backend's name requires exactly that one and raises
    when it cannot be used. Returns the backend the forward now runs on.
    """
    choice = resolve_choice(backend)
    classifier.forward_backend = {"name": "torch"}
    if choice == "torch":
        return "torch"
    folder = Path(folder)
    info = read_backend(folder)
    forced = choice != "auto"
    if info is None:
        if forced:
            raise ModelError(f"{folder} has no {BACKEND_FILE}: run `rationales optimize --model {folder} "
                             f"--data DATA` first, or load with backend='torch'")
        return "torch"
    if forced and info["backend"] != choice:
        raise ModelError(f"{folder}/{BACKEND_FILE} holds the {info['backend']!r} backend, not {choice!r}; "
                         f"load with backend='auto' or run `rationales optimize --backends {choice}`")

    def refuse(why: str) -> str:
        if forced:
            raise ModelError(f"{folder}/{BACKEND_FILE}: {why}")
        warnings.warn(f"{folder}/{BACKEND_FILE}: {why}; running the forward on torch", RuntimeWarning,
                      stacklevel=5)  # refuse, attach_saved, _load_folder, load_classifier: its caller
        return "torch"

    source = (info.get("source_weights") or {}).get("sha256")
    if source != weights_hash(folder):
        return refuse("stale: it was exported from other weights (the model was retrained or re-saved "
                      "since). Run `rationales optimize` again")
    path = None if info["file"] is None else folder / info["file"]
    if path is not None and not path.is_file():
        return refuse(f"its file {info['file']} is missing. Run `rationales optimize` again")
    try:
        use_backend(classifier, info["backend"], path, threads=threads,
                    info={"argmax_agreement": (info.get("agreement") or {}).get("argmax_agreement"),
                          "speedup": (info.get("speed") or {}).get("speedup"),
                          "onnxruntime": info.get("onnxruntime"), "openvino": info.get("openvino")})
    except ModelError as exc:
        return refuse(str(exc))
    return str(info["backend"])


# -- agreement and speed ---------------------------------------------------------------------
def agreement(reference: np.ndarray, candidate: np.ndarray) -> dict[str, Any]:
    """How closely ``candidate`` probabilities follow ``reference`` (both n × classes).

    ``argmax_agreement``: share of rows with the same argmax; ``flips``: rows without;
    per row ``|Δp| = max_c |candidate − reference|``, ``mean_abs_dp``/``max_abs_dp`` over rows.
    """
    ref, cand = np.asarray(reference, dtype=np.float64), np.asarray(candidate, dtype=np.float64)
    if ref.shape != cand.shape or ref.ndim != 2:
        raise InputError(f"probabilities of shape {cand.shape} compared with {ref.shape}; expected two "
                         f"equal (n, classes) arrays")
    if len(ref) == 0:
        raise InputError("no probabilities to compare")
    same = ref.argmax(axis=1) == cand.argmax(axis=1)
    dp = np.abs(cand - ref).max(axis=1)
    return {"argmax_agreement": float(same.mean()), "flips": int((~same).sum()), "n": int(len(ref)),
            "mean_abs_dp": float(dp.mean()), "max_abs_dp": float(dp.max())}


def time_backends(classifier: Any, keys: list[tuple[int, ...]], runners: dict[str, Callable[..., Any]],
                  *, rounds: int = 3, on_step: Callable[[str], None] | None = None,
                  ) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, np.ndarray]]:
    """Each runner's wall seconds and process CPU seconds for all ``keys`` through the
    classifier's engine (cache emptied before each run: every key runs), per round, in
    alternating order; and each runner's probabilities from its first round. The
    engine's own runner is put back. (CPU seconds sum every thread's; on a loaded machine
    they are the steadier measure of one thread's work.)"""
    engine = classifier.engine
    own = engine.run_batch
    names = list(runners)
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    probs: dict[str, np.ndarray] = {}
    try:
        for r in range(rounds):
            for name in names if r % 2 == 0 else reversed(names):
                engine.run_batch = runners[name]
                engine.clear_cache()
                t0, c0 = time.perf_counter(), time.process_time()
                out = engine(keys)
                wall[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
                probs.setdefault(name, out)
                if on_step is not None:
                    on_step(name)
    finally:
        engine.run_batch = own
        engine.clear_cache()
    return wall, cpu, probs


def judge(speedup: float, agree: dict[str, Any], min_agreement: float, min_speedup: float) -> str | None:
    """Why a candidate is rejected, or None when it passes."""
    if agree["argmax_agreement"] < min_agreement:
        return (f"argmax agreement {agree['argmax_agreement']:.4f} < {min_agreement} "
                f"({agree['flips']} of {agree['n']} predictions changed)")
    if speedup < min_speedup:
        return f"{speedup:.2f}x torch's speed, below the {min_speedup}x required"
    return None


# -- optimize -----------------------------------------------------------------------------------
def parse_backends(backends: str | Iterable[str]) -> list[str]:
    names = [b.strip() for b in (backends.split(",") if isinstance(backends, str) else backends)]
    names = [b for b in names if b]
    unknown = [b for b in names if b not in BACKENDS]
    if unknown or not names:
        raise ParameterError(f"backends {unknown or names}: expected a comma list of {', '.join(BACKENDS)}")
    return list(dict.fromkeys(names))


def optimize(model: str | Path, data: Any, *, backends: str | Iterable[str] = DEFAULT_BACKENDS,
             limit: int | None = 256, min_agreement: float = 0.995, min_speedup: float = 1.0,
             rounds: int = 3, threads: int | None = None, write: bool = True,
             progress: Any = False) -> dict[str, Any]:
    """Export ``model`` to each backend, measure it against torch fp32 on ``data``, and write
    the fastest that agrees into the model folder.

    ``model``: a folder saved by rationales (``rationales.json``, a transformer).
    ``data``: a Dataset, Examples or texts (the first ``limit`` are used; None: all).
    A candidate is accepted when its argmax agreement with torch is ≥ ``min_agreement``
    and it is ≥ ``min_speedup`` × as fast; the fastest accepted one is written (with
    ``write``) as its file plus ``backend.json``; when none is, a previous
    ``backend.json`` is removed (it did not pass either). Speed: each backend's best of
    ``rounds`` runs over all the inputs (wall seconds; cache emptied before each run; the
    order alternates between rounds). Returns a JSON-ready result: the reference, every
    candidate with its agreement, speed and verdict, and what was written.
    """
    from ..progress import progress_from
    from . import load_classifier
    from .base import as_examples
    from .transformer import MANIFEST, TransformerClassifier

    names = parse_backends(backends)
    if not 0.0 <= float(min_agreement) <= 1.0:
        raise ParameterError(f"min_agreement={min_agreement}: expected a share between 0 and 1, e.g. 0.995")
    if rounds < 1:
        raise ParameterError(f"rounds={rounds}: expected at least 1")
    folder = Path(model).expanduser()
    if not (folder / MANIFEST).is_file():
        raise ModelError(f"{folder} is not a model folder saved by rationales (no {MANIFEST}); "
                         f"`rationales train --out` or classifier.save(folder) writes one")
    onnxruntime = onnxruntime_module() if any(n.startswith("onnx") for n in names) else None
    openvino = openvino_module() if "openvino-bf16" in names else None
    examples = as_examples(data)
    if limit is not None and limit > 0:
        examples = examples[:limit]
    if not examples:
        raise InputError("optimize needs at least one example to measure agreement and speed on")
    clf = load_classifier(folder, backend="torch")
    if not isinstance(clf, TransformerClassifier):
        raise ModelError(f"{folder}: the ONNX backend is for transformer classifiers, not {type(clf).__name__}")
    keys = list(dict.fromkeys(clf.encode(ex).input_ids for ex in examples))
    steps = len(names) + rounds * (len(names) + 1)
    result: dict[str, Any] = {
        "model": str(folder), "n": len(keys), "rounds": rounds, "min_agreement": min_agreement,
        "min_speedup": min_speedup,
        "onnxruntime": None if onnxruntime is None else onnxruntime.__version__,
        "openvino": None if openvino is None else openvino.__version__,
        "threads": int(threads or default_threads()), "candidates": [], "accepted": None, "written": [],
    }
    with tempfile.TemporaryDirectory(prefix="rationales-onnx-") as tmp, \
            progress_from(progress, steps, "optimize") as bar:
        runners: dict[str, Callable[..., Any]] = {"torch": clf._run_batch}
        files: dict[str, Path | None] = {}
        failed: dict[str, str] = {}
        for name in names:
            bar.advance(note=f"export {name}")
            try:
                files[name] = build(clf, name, tmp)
                runners[name] = make_runner(clf, name, files[name], threads=threads)
            except Exception as exc:  # an exporter or quantiser failing is a verdict, not a crash
                failed[name] = f"could not build it: {type(exc).__name__}: {exc}"
        bar.advance(rounds * len(failed))  # their timing steps, skipped
        seconds, cpu, probs = time_backends(clf, keys, runners, rounds=rounds,
                                            on_step=lambda n: bar.advance(note=f"timing {n}"))
        ref_s = min(seconds["torch"])
        result["reference"] = {"backend": "torch", "seconds": ref_s, "posts_per_s": len(keys) / ref_s,
                               "all_seconds": seconds["torch"], "cpu_seconds": min(cpu["torch"])}
        for name in names:
            row: dict[str, Any] = {"backend": name}
            if name in failed:
                row.update(accepted=False, reason=failed[name])
            else:
                best = min(seconds[name])
                agree = agreement(probs["torch"], probs[name])
                row.update(seconds=best, posts_per_s=len(keys) / best, speedup=ref_s / best,
                           all_seconds=seconds[name], cpu_seconds=min(cpu[name]), **agree)
                why = judge(ref_s / best, agree, min_agreement, min_speedup)
                row.update(accepted=why is None, reason=why)
            result["candidates"].append(row)
        passing = [c for c in result["candidates"] if c["accepted"]]
        if passing:
            best_row = max(passing, key=lambda c: c["speedup"])
            result["accepted"] = best_row["backend"]
        if write:
            result["written"], result["removed"] = _write(folder, result, files, data)
    return result


def _write(folder: Path, result: dict[str, Any], files: dict[str, Path | None],
           data: Any) -> tuple[list[str], list[str]]:
    """Put the accepted backend's file and ``backend.json`` into ``folder`` (or remove a
    previous ``backend.json`` when none was accepted). The files written and removed."""
    from ..jsonio import write_json

    removed = []
    info_file = folder / BACKEND_FILE
    previous = None
    try:
        previous = read_backend(folder)
    except ModelError:
        pass
    accepted = result["accepted"]
    if info_file.exists():
        info_file.unlink()
        if accepted is None:
            removed.append(str(info_file))
    if previous is not None and previous["file"] and previous["file"] != BACKENDS.get(accepted or ""):
        old = folder / str(previous["file"])
        if old.is_file():
            old.unlink()
            removed.append(str(old))
    if accepted is None:
        return [], removed
    row = next(c for c in result["candidates"] if c["backend"] == accepted)
    written = []
    source = files[accepted]
    if source is not None:
        dest = folder / str(BACKENDS[accepted])
        shutil.copyfile(source, dest)
        written.append(str(dest))
    info = {
        "backend": accepted, "file": BACKENDS[accepted],
        "sha256": None if source is None else file_sha256(folder / str(BACKENDS[accepted])),
        "onnxruntime": result["onnxruntime"], "openvino": result["openvino"],
        "source_weights": {"sha256": weights_hash(folder),
                           "files": [n for n in WEIGHT_FILES if (folder / n).is_file()]},
        "agreement": {k: row[k] for k in ("argmax_agreement", "flips", "n", "mean_abs_dp", "max_abs_dp")},
        "speed": {"posts_per_s": row["posts_per_s"], "torch_posts_per_s": result["reference"]["posts_per_s"],
                  "speedup": row["speedup"], "threads": result["threads"]},
        "data": getattr(data, "full_name", None) or getattr(data, "name", None),
        "min_agreement": result["min_agreement"],
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_json(info_file, info)
    return [*written, str(info_file)], removed


__all__ = ["BACKENDS", "BACKEND_ENV", "BACKEND_FILE", "OnnxForward", "OpenvinoForward", "TorchBf16Forward", "agreement",
           "attach_saved", "build", "export_onnx", "make_runner", "optimize", "quantize_int8", "use_backend",
           "use_torch",
           "weights_hash"]
