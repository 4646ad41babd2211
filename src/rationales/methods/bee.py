"""``bee``: integrated gradients from a learned mixture of baselines, tuned to a metric.

BEE (Baseline Exploration–Exploitation, Barkan et al., 2025). Integrated gradients
depends on its baseline, the "missing" input, and different faithfulness metrics prefer
different baselines. BEE draws the baseline from a mixture of baseline distributions in
embedding space (:data:`DISTRIBUTIONS`; special tokens always keep their own
embeddings, word subwords are replaced), and learns the mixture across examples with a
bandit whose reward is the metric the user cares about.

Per example: ``n_draws`` distributions are chosen by Thompson sampling, one baseline
is sampled from each, IG runs from every baseline with ``steps`` steps in one Captum
call (the draws are a batch: gradients of all draws × steps are computed together),
every map is scored by the metric through the forward engine
(:func:`rationales.evaluation.faithfulness.faithfulness`), each draw's score rewards its
distribution, and the best-scoring map is kept.

**Why Thompson sampling, not UCB.** The ``n_draws`` of an example are chosen together,
before any of them is scored. UCB is deterministic given the state: it would put every
draw of a batch on the same arm. Thompson sampling draws each choice from the
posterior, so one batch explores several distributions in proportion to how likely each
is to be the best, and it needs no reward range (UCB1 assumes rewards in [0, 1];
comprehensiveness lies in [-1, 1], log-odds is unbounded). The bandit is context-free:
one mixture per metric, learned over the examples, as the mixture in the paper is
global; the example enters through the per-example choice of the best draw.

Gaussian Thompson sampling, per arm a with n_a rewards of mean r̄_a:
θ_a ~ N((n_a·r̄_a + m)/(n_a + 1), s²/(n_a + 1)), where m is the mean of every reward so
far (one pseudo-observation; 0 before any) and s the pooled within-arm standard
deviation (``prior_sd`` until two rewards share an arm). Reward = the metric where
higher is better, its negative where lower is (sufficiency, log-odds).

``learn=True`` (the default) updates the mixture after every example, in order, so a
batch and the same examples one call at a time differ by design (the later examples of
a batch see a mixture learned on the earlier ones). ``mixture_path``: a JSON file that
starts the bandit when it exists and receives its state after each call when
``learn``. ``learn=False`` keeps the mixture fixed (uniform or loaded): every example is
then explained independently. Noise and Thompson draws come from a generator seeded by
``seed`` and the example (its id and words), so reruns are identical.

IG itself is Captum's ``IntegratedGradients`` on the input embeddings, the call the
``integrated_gradients`` explainer makes (Gauss-Legendre steps); the per-draw batching
is local here: gradient.py's explainer takes one baseline per example.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar

import numpy as np

from ..errors import InputError, ParameterError
from ..jsonio import write_json
from ..models.base import Classifier, DifferentiableClassifier, check_removal
from ..types import Example, Explanation
from ._util import AGGREGATIONS, aggregate_to_words, as_differentiable, example_rng, prob_list, truncation_info, words_used
from .base import Explainer, register

METRICS = ("comprehensiveness", "sufficiency", "aopc", "log_odds")
#: higher is better? (the reward is the value, or its negative)
HIGHER_IS_BETTER = {"comprehensiveness": True, "sufficiency": False, "aopc": True, "log_odds": False}


@dataclass
class BaselineContext:
    """What a baseline distribution may read: the example's embeddings and the model's."""

    classifier: DifferentiableClassifier
    embeds: Any  # (1, tokens, hidden) input embeddings
    is_word: Any  # (tokens,) bool tensor: True where a word subword sits
    table: Any  # (vocab, hidden) embedding matrix
    params: dict[str, Any]


Sampler = Callable[[BaselineContext, np.random.Generator, int], Any]
#: name → (sampler giving (n, tokens, hidden) word-position embeddings, reason it is unavailable)
DISTRIBUTIONS: dict[str, tuple[Sampler, Callable[[BaselineContext], str | None]]] = {}


def baseline_distribution(name: str, unavailable: Callable[[BaselineContext], str | None] = lambda c: None
                          ) -> Callable[[Sampler], Sampler]:
    """Register a baseline distribution under ``name``."""
    def add(fn: Sampler) -> Sampler:
        DISTRIBUTIONS[name] = (fn, unavailable)
        return fn
    return add


def _token_fill(ctx: BaselineContext, token_id: int | None, n: int) -> Any:
    return ctx.table[int(token_id or 0)].expand(n, ctx.embeds.shape[1], -1)


def _tokenizer_id(ctx: BaselineContext, attr: str) -> int | None:
    value = getattr(getattr(ctx.classifier, "tokenizer", None), attr, None)
    return None if value is None else int(value)


@baseline_distribution("zero")
def _zero(ctx: BaselineContext, rng: np.random.Generator, n: int) -> Any:
    import torch

    return torch.zeros((n, *ctx.embeds.shape[1:]), dtype=ctx.embeds.dtype, device=ctx.embeds.device)


@baseline_distribution("pad")
def _pad(ctx: BaselineContext, rng: np.random.Generator, n: int) -> Any:
    return _token_fill(ctx, ctx.classifier.pad_token_id, n)


@baseline_distribution("mask", lambda c: None if c.classifier.mask_token_id is not None else "no [MASK] token")
def _mask(ctx: BaselineContext, rng: np.random.Generator, n: int) -> Any:
    return _token_fill(ctx, ctx.classifier.mask_token_id, n)


@baseline_distribution("unk", lambda c: None if _tokenizer_id(c, "unk_token_id") is not None else "no [UNK] token")
def _unk(ctx: BaselineContext, rng: np.random.Generator, n: int) -> Any:
    return _token_fill(ctx, _tokenizer_id(ctx, "unk_token_id"), n)


def _noise(ctx: BaselineContext, values: np.ndarray) -> Any:
    import torch

    return torch.as_tensor(values, dtype=ctx.embeds.dtype, device=ctx.embeds.device)


@baseline_distribution("gaussian")
def _gaussian(ctx: BaselineContext, rng: np.random.Generator, n: int) -> Any:
    """The input plus N(0, (noise_scale · σ)²) per entry, σ = std of the embedding table."""
    sd = float(ctx.table.std()) * float(ctx.params["noise_scale"])
    return ctx.embeds + _noise(ctx, rng.normal(0.0, sd, size=(n, *ctx.embeds.shape[1:])))


@baseline_distribution("uniform")
def _uniform(ctx: BaselineContext, rng: np.random.Generator, n: int) -> Any:
    """Uniform per dimension between the embedding table's min and max of that dimension."""
    lo = ctx.table.min(dim=0).values.double().cpu().numpy()
    hi = ctx.table.max(dim=0).values.double().cpu().numpy()
    return _noise(ctx, rng.uniform(lo, hi, size=(n, ctx.embeds.shape[1], len(lo))))


#: classifier → {source: (token ids, probabilities)}; forgotten with the classifier
_FREQ_CACHE: weakref.WeakKeyDictionary[Any, dict[str, tuple[np.ndarray, np.ndarray]]] = weakref.WeakKeyDictionary()


def word_frequencies(ctx: BaselineContext) -> tuple[np.ndarray, np.ndarray]:
    """Token ids and their sampling probabilities for ``random_words``.

    ``random_words_from="vocab"``: every non-special id of the tokenizer, uniformly (a
    vocabulary carries no frequencies). A dataset name (``"hatexplain"``, or
    ``"hatexplain:validation"`` for a split): subword frequencies counted over its posts.
    """
    source = str(ctx.params["random_words_from"])
    known = _FREQ_CACHE.setdefault(ctx.classifier, {})
    if source not in known:
        vocab = int(ctx.table.shape[0])
        tok = getattr(ctx.classifier, "tokenizer", None)
        special = set(getattr(tok, "all_special_ids", []) or [])
        if source == "vocab":
            ids = np.array([i for i in range(vocab) if i not in special], dtype=np.int64)
            known[source] = (ids, np.full(len(ids), 1.0 / len(ids)))
        else:
            from ..data import load_spec

            counts = np.zeros(vocab, dtype=np.float64)
            for ex in load_spec(source):
                enc = ctx.classifier.encode(ex)
                for t, w in zip(enc.input_ids, enc.word_index):
                    if w >= 0:
                        counts[int(t)] += 1
            if counts.sum() == 0:
                raise InputError(f"bee: random_words_from={source!r} gave no words to count")
            ids = np.flatnonzero(counts)
            known[source] = (ids, counts[ids] / counts[ids].sum())
    return known[source]


@baseline_distribution("random_words")
def _random_words(ctx: BaselineContext, rng: np.random.Generator, n: int) -> Any:
    import torch

    ids, p = word_frequencies(ctx)
    drawn = torch.as_tensor(rng.choice(ids, size=(n, ctx.embeds.shape[1]), p=p), device=ctx.embeds.device)
    return ctx.table[drawn]


class ThompsonBandit:
    """Gaussian Thompson sampling over named arms (see the module docstring for the posterior)."""

    def __init__(self, arms: list[str], prior_sd: float = 0.1) -> None:
        self.arms = list(arms)
        self.prior_sd = float(prior_sd)
        self.n = np.zeros(len(arms))
        self.mean = np.zeros(len(arms))
        self.m2 = np.zeros(len(arms))  # Welford sums of squared deviations

    def update(self, arm: int, reward: float) -> None:
        self.n[arm] += 1
        delta = reward - self.mean[arm]
        self.mean[arm] += delta / self.n[arm]
        self.m2[arm] += delta * (reward - self.mean[arm])

    def posterior(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of each arm's θ."""
        total = self.n.sum()
        grand = float((self.n * self.mean).sum() / total) if total else 0.0
        dof = total - np.count_nonzero(self.n)
        sd = math.sqrt(self.m2.sum() / dof) if dof > 0 and self.m2.sum() > 0 else self.prior_sd
        return (self.n * self.mean + grand) / (self.n + 1), sd / np.sqrt(self.n + 1)

    def choose(self, rng: np.random.Generator, k: int) -> list[int]:
        """``k`` arms, each the argmax of one draw of θ from the posterior."""
        mu, sd = self.posterior()
        return [int(np.argmax(rng.normal(mu, sd))) for _ in range(k)]

    def mixture(self, samples: int = 4000) -> dict[str, float]:
        """The mixture weights: P(arm a has the largest θ), by Monte Carlo (fixed seed)."""
        mu, sd = self.posterior()
        best = np.argmax(np.random.default_rng(0).normal(mu, sd, size=(samples, len(mu))), axis=1)
        return {a: float(c) / samples for a, c in zip(self.arms, np.bincount(best, minlength=len(mu)))}

    def to_dict(self) -> dict[str, Any]:
        mu, sd = self.posterior()
        return {"bandit": "gaussian_thompson", "prior_sd": self.prior_sd, "mixture": self.mixture(),
                "arms": {a: {"n": int(self.n[i]), "mean_reward": float(self.mean[i]), "m2": float(self.m2[i]),
                             "posterior_mean": float(mu[i]), "posterior_sd": float(sd[i])}
                         for i, a in enumerate(self.arms)}}

    @classmethod
    def from_dict(cls, state: dict[str, Any], arms: list[str], where: str) -> ThompsonBandit:
        saved = state.get("arms", {})
        if sorted(saved) != sorted(arms):
            raise ParameterError(f"bee: {where} holds a mixture over {sorted(saved)}, not the requested "
                                 f"distributions {sorted(arms)}; pass those distributions or another mixture_path")
        out = cls(arms, float(state.get("prior_sd", 0.1)))
        for i, a in enumerate(arms):
            out.n[i], out.mean[i], out.m2[i] = saved[a]["n"], saved[a]["mean_reward"], saved[a]["m2"]
        return out


@register
class BEEExplainer(Explainer):
    """Integrated gradients from a bandit-learned mixture of baselines, best draw by a metric (BEE)."""

    name = "bee"
    needs_gradients = True
    stochastic = True
    defaults: ClassVar[dict[str, Any]] = {
        "metric": "comprehensiveness", "distributions": None, "n_draws": 4, "steps": 20,
        "internal_batch_size": 64, "rationale": "top_k=5", "removal": "delete", "aggregate": "sum",
        "noise_scale": 0.5, "random_words_from": "vocab", "prior_sd": 0.1, "learn": True,
        "mixture_path": None, "seed": 0,
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        if p["metric"] not in METRICS:
            raise ParameterError(f"bee: metric must be one of {METRICS}, got {p['metric']!r}")
        dists = p["distributions"]
        if isinstance(dists, str):
            p["distributions"] = dists = [d.strip() for d in dists.split(",") if d.strip()]
        unknown = sorted(set(dists or ()) - set(DISTRIBUTIONS))
        if unknown or (dists is not None and not dists):
            raise ParameterError(f"bee: unknown baseline distribution(s) {unknown or dists}; "
                                 f"choose from {sorted(DISTRIBUTIONS)}")
        for key in ("n_draws", "steps", "internal_batch_size"):
            if int(p[key]) < 1:
                raise ParameterError(f"bee: {key} must be >= 1, got {p[key]!r}")
        if p["aggregate"] not in AGGREGATIONS:
            raise ParameterError(f"bee: aggregate must be one of {AGGREGATIONS}, got {p['aggregate']!r}")
        if float(p["noise_scale"]) < 0 or float(p["prior_sd"]) <= 0:
            raise ParameterError("bee: noise_scale must be >= 0 and prior_sd > 0")
        check_removal(p["removal"])
        from ..rules import normalise_rule

        normalise_rule(str(p["rationale"]))

    # -- the mixture ---------------------------------------------------------------
    def start_bandit(self, arms: list[str]) -> ThompsonBandit:
        path = self.params["mixture_path"]
        if path and Path(path).is_file():
            import json

            try:
                state = json.loads(Path(path).read_text(encoding="utf-8"))
            except ValueError as err:
                raise InputError(f"bee: mixture_path {path} is not JSON ({err}); delete it to start afresh") from None
            if state.get("metric") not in (None, self.params["metric"]):
                raise ParameterError(f"bee: {path} was learned for metric={state['metric']!r}, not "
                                     f"{self.params['metric']!r}; use another mixture_path")
            return ThompsonBandit.from_dict(state, arms, str(path))
        return ThompsonBandit(arms, float(self.params["prior_sd"]))

    def explain_one(self, classifier: Classifier, example: Example, target: int) -> Explanation:
        return self.explain_batch(classifier, [example], [target])[0]

    def explain_batch(self, classifier: Classifier, examples: list[Example],
                      targets: list[int]) -> list[Explanation]:
        from ._util import forward_passes

        net = as_differentiable(classifier, self.name)
        table = net.embeddings().weight.detach()
        bandit: ThompsonBandit | None = None
        out = []
        for ex, t in zip(examples, targets):
            before = forward_passes(classifier)
            exp, bandit = self.explain_with(net, classifier, ex, t, table, bandit)
            after = forward_passes(classifier)
            if before is not None and after is not None:
                exp = exp.with_info(forward_passes=after - before)
            out.append(exp)
        if bandit is not None and self.params["learn"] and self.params["mixture_path"]:
            write_json(self.params["mixture_path"], {"metric": self.params["metric"], **bandit.to_dict()})
        return out

    def explain_with(self, net: DifferentiableClassifier, classifier: Classifier, example: Example, target: int,
                     table: Any, bandit: ThompsonBandit | None) -> tuple[Explanation, ThompsonBandit]:
        import torch

        p = self.params
        enc = net.encode(example)
        device = next(net.model.parameters()).device
        ids = torch.tensor([list(enc.input_ids)], dtype=torch.long, device=device)
        word_index = np.asarray(enc.word_index)
        with torch.no_grad():
            embeds = net.embeddings()(ids).detach()
        ctx = BaselineContext(net, embeds, torch.as_tensor(word_index >= 0, device=device), table, p)
        names = list(p["distributions"] or DISTRIBUTIONS)
        skipped = {n: why for n in names if (why := DISTRIBUTIONS[n][1](ctx)) is not None}
        arms = [n for n in names if n not in skipped]
        if not arms:
            raise ParameterError(f"bee: no baseline distribution works with this model: {skipped}")
        bandit = bandit or self.start_bandit(arms)
        rng = example_rng(int(p["seed"]), example)
        chosen = bandit.choose(rng, int(p["n_draws"]))
        with torch.no_grad():
            parts = [DISTRIBUTIONS[arms[a]][0](ctx, rng, 1) for a in chosen]
            base = torch.cat(parts).to(embeds.dtype)
            # Special tokens ([CLS], [SEP]) keep their embeddings in every baseline.
            base = torch.where(ctx.is_word[None, :, None], base, embeds.expand_as(base))
        maps, deltas = self.integrated_gradients(net, ids, embeds, base, target, len(example.words), word_index)
        scores = self.score_maps(classifier, example, target, maps)
        higher = HIGHER_IS_BETTER[p["metric"]]
        rewards = [s if higher else -s for s in scores]
        if p["learn"]:
            for a, r in zip(chosen, rewards):
                if math.isfinite(r):
                    bandit.update(a, r)
        best = int(np.nanargmax(np.where(np.isfinite(rewards), rewards, np.nan))) if any(
            math.isfinite(r) for r in rewards) else 0
        used = words_used(classifier, example)
        probs = classifier.predict_proba([example])[0]
        exp = self.make(
            example, maps[best], target, probs=prob_list(probs), metric=p["metric"],
            chosen_baseline=arms[chosen[best]], best_draw=best, best_score=scores[best],
            draws=[{"distribution": arms[a], "score": s} for a, s in zip(chosen, scores)],
            convergence_delta=deltas[best], bandit=bandit.to_dict(), skipped_distributions=skipped,
            **truncation_info(example, used))
        return exp, bandit

    def integrated_gradients(self, net: DifferentiableClassifier, ids: Any, embeds: Any, base: Any, target: int,
                             n_words: int, word_index: np.ndarray) -> tuple[list[np.ndarray], list[float]]:
        """IG word maps from every baseline row of ``base``, all draws in one Captum call."""
        import torch
        from captum.attr import IntegratedGradients

        n = base.shape[0]
        mask = torch.ones_like(ids)

        def forward(e: torch.Tensor) -> torch.Tensor:
            return net.forward_from_embeddings(e, mask.expand(e.shape[0], -1))

        inputs = embeds.expand(n, -1, -1).clone().requires_grad_(True)
        with torch.enable_grad():
            attr, delta = IntegratedGradients(forward).attribute(
                inputs, baselines=base, target=int(target), n_steps=int(self.params["steps"]),
                internal_batch_size=max(int(self.params["internal_batch_size"]), n),
                return_convergence_delta=True)
        per_token = attr.detach().to(torch.float64).sum(dim=-1).cpu().numpy()
        maps = [aggregate_to_words(row, word_index, n_words, self.params["aggregate"]) for row in per_token]
        return maps, [float(d) for d in delta.detach().abs().cpu().numpy()]

    def score_maps(self, classifier: Classifier, example: Example, target: int,
                   maps: list[np.ndarray]) -> list[float]:
        """The metric of every map, through :func:`~rationales.evaluation.faithfulness.faithfulness`."""
        from ..evaluation.faithfulness import faithfulness
        from ..evaluation.protocols import ERASER_BINS
        from ..rules import apply_rule

        p = self.params
        rule = str(p["rationale"])
        exps = [Explanation(example.id, tuple(example.words), tuple(float(v) for v in m), target, f"draw{i}")
                for i, m in enumerate(maps)]
        res = faithfulness(classifier, exps, {example.id: example}, hard=lambda e: apply_rule(e.scores, rule),
                           hard_name=rule, removal=p["removal"],
                           aopc_bins=ERASER_BINS if p["metric"] == "aopc" else None, tau_loo=False)
        name = {"aopc": "aopc_comprehensiveness", "log_odds": "comprehensiveness"}.get(p["metric"], p["metric"])
        values = [next(r for r in res[e.method] if r.name == name).per_example.get(example.id) for e in exps]
        if p["metric"] != "log_odds":
            return [float(v) if v is not None else float("nan") for v in values]
        # log-odds: log p(target | x without the rationale) − log p(target | x), from the
        # comprehensiveness p(x) − p(x without) the engine just computed.
        p0 = float(classifier.predict_proba([example])[0][target])
        return [math.log(max(p0 - float(v), 1e-12)) - math.log(max(p0, 1e-12)) if v is not None else float("nan")
                for v in values]
