"""The benchmark run and its report files, on the hand-computable classifier and a tiny transformer."""

import base64
import csv
import json
import re

import pytest

from evaluation.fakes import LinearWords  # tests/ is on sys.path (rootdir-relative packages)
from rationales.evaluation.benchmark import BenchmarkRun, benchmark
from rationales.report import write_all
from rationales.report.table import markdown_table
from rationales.types import Dataset, Example

DS = Dataset(
    [Example("a", ["bad", "very", "good", "x"], label=1, rationale=[1, 1, 0, 0]),
     Example("b", ["x", "bad", "day"], label=1, rationale=[0, 1, 0]),
     Example("c", ["good", "day"], label=0)],
    ["normal", "hateful"], "toy", "test",
)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    run = benchmark(LinearWords(), DS, ["occlusion", "ngram", "gradient"], "hatexplain",
                    progress=False, gold="dataset", top_k=1)
    write_all(run, out)  # the caller writes the report: evaluation never imports report/
    return run


def test_benchmark_results_and_failures(run):
    assert run.n_examples == 2 and run.methods == ["occlusion", "ngram", "gradient"]
    # occlusion on a linear model ranks 'bad' first in both posts: top-1 = the heaviest gold word
    assert run.value("token_precision", "occlusion") == pytest.approx(1.0)
    assert run.value("comprehensiveness", "occlusion") == pytest.approx(0.5)
    assert run.value("tau_loo", "occlusion") == pytest.approx(1.0)
    # the fake classifier is not differentiable: every gradient explanation failed, and says why
    assert run.value("failure_rate", "gradient") == 1.0
    assert all("needs gradients" in e.failed for e in run.explanations if e.method == "gradient")
    assert run.timing["occlusion"]["explanations"] == 2
    assert {r.name for r in run.results if r.method is None} == {"accuracy", "macro_f1", "auroc"}
    assert "hard rationale=top_k=1" in run.protocol_text


def test_report_files(run):
    files = run.files
    data = json.loads(open(files["json"], encoding="utf-8").read())
    again = BenchmarkRun.from_dict(data)
    assert again.value("comprehensiveness", "occlusion") == pytest.approx(0.5)
    rows = list(csv.DictReader(open(files["csv"], encoding="utf-8")))
    f1 = [r for r in rows if r["method"] == "ngram" and r["metric"] == "token_f1"][0]
    assert f1["variant"] == "instance_macro, hard=top_k=1, gold=dataset" and f1["n"] == "2"
    md = open(files["markdown"], encoding="utf-8").read()
    assert "token_f1[instance_macro, hard=top_k=1, gold=dataset]" in md
    page = open(files["html"], encoding="utf-8").read()
    assert "http" not in page.replace("http-equiv", "")  # self-contained: nothing to fetch
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    assert len(images) == 3 and all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    assert page.count('class="post"') == 2 and "gold rationale" in page


def test_compare_two_runs(run):
    rows = run.compare(BenchmarkRun.load(run.files["json"]))
    comp = [r for r in rows if r["metric"] == "comprehensiveness" and r["method"] == "occlusion"][0]
    assert comp["same_variant"] and comp["per_example_mean_diff"] == 0.0 and comp["n_shared"] == 2


def test_markdown_table_names_every_variant(run):
    text = markdown_table(run.results, run.timing)
    assert "| occlusion |" in text and "tau_loo[kendall_tau_b" in text


def test_benchmark_on_a_tiny_transformer_uses_the_engine_cache(tmp_path):
    from rationales.models.tiny import tiny_classifier

    clf = tiny_classifier(["normal", "hateful"])
    run = benchmark(clf, DS, ["occlusion", "attention"], "hatexplain", progress=False, gold="dataset")
    # the leave-one-out inputs of tau_loo are exactly occlusion's: asked again, answered from cache
    assert run.evaluation_cost["cache_hits"] > 0
    assert run.timing["occlusion"]["forward_passes"] > 0
    assert run.value("failure_rate", "attention") == 0.0
