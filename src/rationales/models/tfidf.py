"""A TF-IDF + logistic regression baseline behind the same classifier contract.

Features are word n-grams (over the example's words, lower-cased) and character
n-grams inside word boundaries (``char_wb``, which covers Devanagari/Telugu spellings and
typos without a tokenizer). It is fast and multilingual, and is the baseline every table
shows. It has no gradients or attention (``differentiable = False``).

Removal: ``delete`` drops a word; ``mask`` replaces it by an out-of-vocabulary
placeholder (U+FFFD), which keeps the word's slot (the neighbours do not become a new
bigram) but contributes no feature.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ..errors import ModelError
from ..types import Example
from .base import EngineClassifier, InputLike, as_examples, check_removal
from .engine import ForwardEngine

MANIFEST = "rationales.json"
MASK_WORD = "\ufffd"


def word_ngrams(words: Sequence[str], n_max: int = 2) -> list[str]:
    """Lower-cased word n-grams (1..n_max); n-grams touching a mask placeholder are dropped."""
    low = [w.lower() for w in words]
    out: list[str] = []
    for n in range(1, n_max + 1):
        for i in range(len(low) - n + 1):
            gram = low[i: i + n]
            if MASK_WORD not in gram:
                out.append(" ".join(gram))
    return out


def _analyse_words(words: Sequence[str]) -> list[str]:
    return word_ngrams(words, 2)


def _joined(words: Sequence[str]) -> str:
    return " ".join(words)


class TfidfClassifier(EngineClassifier):
    """TF-IDF (word 1–2-grams + char_wb 2–5-grams) with logistic regression."""

    differentiable = False

    def __init__(
        self,
        label_names: Iterable[str] = ("label_0", "label_1"),
        *,
        name: str = "tfidf",
        C: float = 4.0,
        char_ngrams: tuple[int, int] = (2, 5),
        min_df: int = 1,
        seed: int = 0,
        train_config: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
        **engine_options: Any,
    ) -> None:
        self.label_names = [str(n) for n in label_names]
        self.name = name
        self.backbone = "tfidf"
        self.C = float(C)
        self.char_ngrams = tuple(char_ngrams)
        self.min_df = int(min_df)
        self.seed = int(seed)
        self.train_config = dict(train_config or {})
        self.metrics = dict(metrics or {})
        self.pipeline_: Any = None
        engine_options.setdefault("no_grad", False)
        # tf-idf has no padding: length-based batch cuts would only add calls
        engine_options.setdefault("batch_overhead_tokens", 10**9)
        self.engine = ForwardEngine(self._run_batch, **engine_options)

    # -- fitting ---------------------------------------------------------------------
    def _build(self) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
        from sklearn.preprocessing import FunctionTransformer

        words = TfidfVectorizer(analyzer=_analyse_words, min_df=self.min_df, sublinear_tf=True)
        chars = make_pipeline(
            FunctionTransformer(_join_all),
            TfidfVectorizer(analyzer="char_wb", ngram_range=self.char_ngrams, min_df=self.min_df,
                            sublinear_tf=True, lowercase=True),
        )
        return Pipeline([
            ("features", FeatureUnion([("words", words), ("chars", chars)])),
            ("classify", LogisticRegression(C=self.C, max_iter=3000, random_state=self.seed)),
        ])

    def fit(self, examples: Sequence[Example], labels: Sequence[int] | None = None) -> "TfidfClassifier":
        """Fit on examples (their ``label`` unless ``labels`` is given)."""
        examples = list(examples)
        y = [ex.label for ex in examples] if labels is None else list(labels)
        if any(v is None for v in y):
            raise ValueError("every training example needs a label")
        present = sorted(set(int(v) for v in y if v is not None))
        if len(present) < 2:
            raise ValueError(f"training data has only label(s) {present}; need at least two")
        if present[-1] >= len(self.label_names):
            raise ValueError(f"label id {present[-1]} out of range for labels {self.label_names}")
        pipe = self._build()
        pipe.fit([tuple(ex.words) for ex in examples], np.asarray(y, dtype=int))
        self.pipeline_ = pipe
        self.engine.clear_cache()
        return self

    # -- probabilities -----------------------------------------------------------------
    def _check_fitted(self) -> None:
        if self.pipeline_ is None:
            raise ModelError(
                f"{self.name}: the tf-idf classifier is not trained yet; train it first "
                f"(`rationales train --backbone tfidf ...` or rationales.train(..., backbone='tfidf'))"
            )

    def _run_batch(self, batch: list[tuple[str, ...]]) -> np.ndarray:
        raw = self.pipeline_.predict_proba(batch)
        # classes absent from training get probability 0 in their column
        out = np.zeros((len(batch), self.num_labels))
        out[:, self.pipeline_.classes_] = raw
        return out

    def predict_proba(self, inputs: InputLike | Iterable[InputLike]) -> np.ndarray:
        self._check_fitted()
        examples = as_examples(inputs)
        if not examples:
            return np.zeros((0, self.num_labels))
        return self.engine([tuple(ex.words) for ex in examples])

    def words_for(self, example: Example, keep_row: Any, removal: str = "delete") -> tuple[str, ...]:
        """The perturbed word tuple the model sees for one keep row."""
        check_removal(removal)
        keep_row = np.asarray(keep_row, dtype=bool)
        if keep_row.shape != (len(example.words),):
            raise ValueError(
                f"example {example.id!r}: keep mask has shape {keep_row.shape}; expected "
                f"({len(example.words)},) for its words"
            )
        if removal == "delete":
            return tuple(w for w, k in zip(example.words, keep_row) if k)
        return tuple(w if k else MASK_WORD for w, k in zip(example.words, keep_row))

    def masked_keys(self, example: Example, keep: np.ndarray, removal: str) -> list[tuple[str, ...]]:
        return [self.words_for(example, row, removal) for row in keep]

    def predict_proba_masked_many_counted(
        self, requests: Sequence[tuple[Example, np.ndarray]], removal: str = "delete"
    ) -> tuple[list[np.ndarray], list[int]]:
        self._check_fitted()
        return super().predict_proba_masked_many_counted(requests, removal)

    # -- save / load -----------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        return {
            "format_version": 1, "kind": "tfidf", "name": self.name, "backbone": "tfidf",
            "label_names": list(self.label_names),
            "options": {"C": self.C, "char_ngrams": list(self.char_ngrams),
                        "min_df": self.min_df, "seed": self.seed},
            "train_config": self.train_config, "metrics": self.metrics,
        }

    def save(self, directory: str | Path) -> Path:
        """Write the fitted pipeline (pickle), label names, config and metrics."""
        self._check_fitted()
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "tfidf.pkl", "wb") as fh:
            pickle.dump(self.pipeline_, fh)
        (out / MANIFEST).write_text(json.dumps(self.manifest(), indent=2, ensure_ascii=False) + "\n")
        if self.metrics:
            (out / "metrics.json").write_text(json.dumps(self.metrics, indent=2) + "\n")
        return out

    @classmethod
    def load(cls, directory: str | Path, **options: Any) -> "TfidfClassifier":
        """Load a folder written by :meth:`save` (a pickle: load only folders you trust)."""
        folder = Path(directory)
        manifest = json.loads((folder / MANIFEST).read_text())
        kwargs = dict(manifest.get("options") or {})
        kwargs["char_ngrams"] = tuple(kwargs.get("char_ngrams", (2, 5)))
        kwargs.update(name=manifest.get("name", "tfidf"), train_config=manifest.get("train_config"),
                      metrics=manifest.get("metrics"))
        kwargs.update(options)
        clf = cls(manifest["label_names"], **kwargs)
        with open(folder / "tfidf.pkl", "rb") as fh:
            clf.pipeline_ = pickle.load(fh)
        return clf

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "backbone": "tfidf", "fitted": self.pipeline_ is not None,
                "engine": self.engine.describe()}


def _join_all(docs: Sequence[Sequence[str]]) -> list[str]:
    return [_joined(d) for d in docs]
