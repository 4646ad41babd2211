"""The X-MuTeST report in the paper's layout: one table per language, rows model × method.

Written as ``report.md``, ``report.json`` (everything in :class:`XmutestRun`) and
``report.html`` (self-contained, linking each model's benchmark report with its word
heat-maps).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..jsonio import dumps
from .stages import write_atomic

if TYPE_CHECKING:
    from .xmutest import XmutestRun

MODEL_NAMES = {"baseline": "baseline (no rationales)", "stage1": "stage 1 (human rationales)",
               "stage2": "stage 2 (union rationales)"}
CLASSIFICATION = [("accuracy", "Accuracy"), ("macro_f1", "Macro-F1"), ("auroc", "AUROC")]
EXPLANATION = [("token_f1", "Token-F1 ↑"), ("iou_f1", "IOU-F1 ↑"), ("comprehensiveness", "Comp. ↑"),
               ("sufficiency", "Suff. ↓")]


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if value == value else "-"
    return str(value)


def tables(run: "XmutestRun") -> dict[str, tuple[list[str], list[list[str]]]]:
    """The report's tables as (header, rows) of text: classification, explanations, stages."""
    cls = (["model", *[t for _, t in CLASSIFICATION], "best epoch", "its selection macro-F1", "training s"],
           [[MODEL_NAMES.get(m, m), *[_fmt(c.get(k)) for k, _ in CLASSIFICATION], _fmt(c.get("best_epoch")),
             _fmt(c.get("selection_macro_f1")), _fmt(c.get("train_seconds"), 1)]
            for m, c in run.classification.items()])
    exp = (["model", "method", *[t for _, t in EXPLANATION], "n", "hard rationale", "s / post"],
           [[MODEL_NAMES.get(r["model"], r["model"]), r["method"], *[_fmt(r.get(k)) for k, _ in EXPLANATION],
             _fmt(r.get("token_f1_n")), r.get("hard_rationale", "xmutest rule"),
             _fmt(r.get("seconds_per_explanation"), 3)] for r in run.explanations])
    st = (["stage", "seconds", "this run"],
          [[name, _fmt(s.get("seconds"), 1), "ran" if s.get("status") == "done" else "finished before"]
           for name, s in run.stages.items()])
    return {"classification": cls, "explanations": exp, "stages": st}


def _summary(run: "XmutestRun") -> list[str]:
    s = run.settings
    lines = [
        f"Data: train {s['train']} ({s['n_fit']} posts fitted, {s['n_selection']} for model selection), "
        f"test {s['test']} ({s['n_test']} posts).",
        f"Model selection: {s['selection']}.",
        f"Backbone {s['backbone']}; xmutest loss α = {s['alpha']}; {s['epochs']} epoch(s); max length "
        f"{s['max_length']} subword tokens; batch {s['batch_size']}; lr {s['lr']}; seed {s['seed']}.",
        f"Explanations of the stage-1 model: LLM {s['llm']}, asked about {s['n_llm_train']} training posts "
        f"and the {s['n_table_posts']} test posts of the table; stage 2 starts from the {s['stage2_from']}.",
        f"Explanation metrics: {s['protocol']}.",
    ]
    if {"llm", "union"} & set(s.get("methods", [])):
        lines.append("The xmutest rule makes the hard rationale of the other methods from their scores; llm "
                     "and union are scored at their own hard rationale (the words the LLM named; the union of "
                     "the n-gram rationale and those words), as X-MuTeST scores its union: the rule re-applied "
                     "to the union's scores would pick its words with the highest n-gram scores, i.e. exactly "
                     "ngram's.")
    if s["select_on"] == "test":
        lines.insert(0, "**Model selection on the TEST split, as the paper's notebooks did: these figures are "
                     "optimistic and only reproduce the paper.**")
    return lines


def markdown(run: "XmutestRun") -> str:
    def table(header: list[str], rows: list[list[str]]) -> list[str]:
        return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
                *["| " + " | ".join(r) + " |" for r in rows], ""]

    t = tables(run)
    out = [f"# X-MuTeST pipeline: {run.settings['lang']}", "", *[f"{line}  " for line in _summary(run)], "",
           "## Classification on the test split", "", *table(*t["classification"]),
           "## Explanations on the test posts the protocol selects", "", *table(*t["explanations"]),
           "## Time per stage", "", *table(*t["stages"]),
           *([f"Variants: {'; '.join(f'{k} = {v}' for k, v in run.settings['variants'].items())}.", ""]
             if run.settings.get("variants") else []),
           "Per-model benchmark reports (word heat-maps, every metric's variant): "
           + ", ".join(f"`eval-{m}/report.html`" for m in run.classification), ""]
    return "\n".join(out)


def render_html(run: "XmutestRun") -> str:
    from ..report.html import CSS

    def table(header: list[str], rows: list[list[str]]) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
        return f"<table><tr>{head}</tr>{body}</table>"

    t = tables(run)
    summary = "".join(f"<p>{html.escape(line.replace('**', ''))}</p>" for line in _summary(run))
    links = " · ".join(f'<a href="eval-{m}/report.html">{html.escape(MODEL_NAMES.get(m, m))}</a>'
                       for m in run.classification)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>X-MuTeST pipeline: {html.escape(run.settings['lang'])}</title><style>{CSS}</style></head><body>
<h1>X-MuTeST pipeline: {html.escape(run.settings['lang'])}</h1>
<div class="protocol">{summary}</div>
<h2>Classification on the test split</h2>{table(*t['classification'])}
<h2>Explanations on the test posts the protocol selects</h2>{table(*t['explanations'])}
<h2>Time per stage</h2>{table(*t['stages'])}
<h2>Per-model benchmark reports</h2><p>{links}</p>
</body></html>"""


def write_report(run: "XmutestRun", out: str | Path) -> dict[str, str]:
    """Write report.md, report.json and report.html into ``out``; return their paths."""
    folder = Path(out)
    files = {"markdown": folder / "report.md", "json": folder / "report.json", "html": folder / "report.html"}
    run.files = {k: str(v) for k, v in files.items()}
    write_atomic(files["markdown"], markdown(run))
    write_atomic(files["html"], render_html(run))
    write_atomic(files["json"], dumps(run.to_dict(), indent=1) + "\n")
    return run.files
