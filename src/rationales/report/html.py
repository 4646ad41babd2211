"""A self-contained HTML report: header with the resolved protocol, the table, inline PNG plots
(base64, no external files or scripts) and word heat-maps beside the gold rationale."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import TYPE_CHECKING

from . import plots
from .table import CLASSIFICATION, SHORT, fmt, legend, result_matrix

if TYPE_CHECKING:
    from ..evaluation.benchmark import BenchmarkRun
    from ..types import Explanation

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1180px;margin:24px auto;padding:0 16px;color:#1a1a1a;background:#fff;line-height:1.45}
h1{font-size:1.5em;margin-bottom:4px}h2{font-size:1.15em;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
.protocol{background:#f4f6f8;border-left:4px solid #4a6fa5;padding:8px 12px;font-size:.9em}
table{border-collapse:collapse;font-size:.88em;margin:8px 0}th,td{border:1px solid #d0d0d0;padding:4px 8px;text-align:right}
th{background:#eef1f5}td:first-child,th:first-child{text-align:left;font-weight:600}
.legend{font-size:.8em;color:#333;font-family:ui-monospace,Menlo,Consolas,monospace}
img{max-width:100%;border:1px solid #eee;margin:6px 0}
.post{margin:14px 0;padding:8px 10px;border:1px solid #e2e2e2;border-radius:6px}
.post .meta{font-size:.8em;color:#555;margin-bottom:4px}
.row{display:flex;gap:10px;align-items:baseline;margin:3px 0}
.row .who{flex:0 0 170px;font-size:.8em;color:#333;text-align:right;font-family:ui-monospace,Menlo,Consolas,monospace}
.row .words{flex:1;line-height:1.9}
.w{padding:1px 3px;border-radius:3px;margin-right:2px;white-space:nowrap;display:inline-block}
.gold{background:#ffd54f;color:#000;font-weight:600}
.hard{text-decoration:underline;text-decoration-thickness:2px;text-underline-offset:3px}
.key{font-size:.8em;color:#333}
"""


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _shade(score: float, top: float) -> str:
    v = 0.0 if top <= 0 else max(-1.0, min(1.0, score / top))
    alpha = 0.85 * abs(v)
    rgb = "214,39,40" if v >= 0 else "31,119,180"
    # dark text on light shades, white text on strong shades: both keep contrast readable
    color = "#fff" if alpha > 0.5 else "#000"
    return f"background:rgba({rgb},{alpha:.2f});color:{color}"


def _table(run: "BenchmarkRun") -> str:
    methods, names, cells = result_matrix(run.results)
    head = "".join(f'<th title="{html.escape(next((cells[(m, n)].label for m in methods if (m, n) in cells), n))}">{SHORT.get(n, n)}</th>' for n in names)
    rows = []
    for m in methods:
        t = run.timing.get(m, {})
        tds = "".join(f"<td>{fmt(cells[(m, n)].value) if (m, n) in cells else ''}</td>" for n in names)
        rows.append(f"<tr><td>{html.escape(m)}</td>{tds}<td>{t.get('seconds_per_explanation', float('nan')):.3f}</td>"
                    f"<td>{t.get('forward_passes', 0) / max(1, t.get('explanations', 1)):.1f}</td></tr>")
    cls = [r for r in run.results if r.method is None and r.name in CLASSIFICATION]
    cls_html = "<p>Classifier: " + ", ".join(f"<b>{r.name}</b> {fmt(r.value)}" for r in cls) + "</p>" if cls else ""
    leg = "".join(f"<div>{html.escape(line)}</div>" for line in legend(run.results))
    return (f"<div style='overflow-x:auto'><table><tr><th>method</th>{head}<th>s / expl.</th><th>fwd / expl.</th></tr>{''.join(rows)}</table></div>"
            f"{cls_html}<details open><summary>Variants (every value's exact definition and n)</summary><div class='legend'>{leg}</div></details>")


def _heatmaps(run: "BenchmarkRun") -> str:
    from ..rules import hard_rationale

    rule = run.protocol.get("hard", "top_k=5")
    by: dict[str, dict[str, Explanation]] = {}
    for e in run.explanations:
        by.setdefault(e.example_id, {})[e.method] = e
    blocks = []
    for ex_id, gold in run.gold.items():
        exps = by.get(ex_id)
        if not exps:
            continue
        words = next(iter(exps.values())).words
        rows = []
        g = gold or [0] * len(words)
        rows.append('<div class="row"><div class="who">gold rationale</div><div class="words">'
                    + "".join(f'<span class="w{" gold" if gi else ""}">{html.escape(w)}</span>' for w, gi in zip(words, g))
                    + ("" if gold else " <i>(no gold rationale)</i>") + "</div></div>")
        for m in run.methods:
            found = exps.get(m)
            if found is None:
                continue
            e = found
            if e.failed:
                rows.append(f'<div class="row"><div class="who">{html.escape(m)}</div><div class="words"><i>failed: {html.escape(e.failed)}</i></div></div>')
                continue
            top = max((abs(s) for s in e.scores), default=0.0)
            try:
                hard = hard_rationale(e, rule)
            except ValueError:
                hard = [0] * len(words)
            spans = "".join(
                f'<span class="w{" hard" if h else ""}" style="{_shade(s, top)}" title="{s:.4g}">{html.escape(w)}</span>'
                for w, s, h in zip(words, e.scores, hard))
            rows.append(f'<div class="row"><div class="who">{html.escape(m)}</div><div class="words">{spans}</div></div>')
        label = run.labels.get(ex_id)
        blocks.append(f'<div class="post"><div class="meta">{html.escape(ex_id)} · gold label: {html.escape(str(label))} · '
                      f'explained target: {html.escape(str(_target_name(run, next(iter(exps.values())).target)))}</div>{"".join(rows)}</div>')
    return "".join(blocks)


def _target_name(run: "BenchmarkRun", target: int) -> str:
    names = run.model.get("label_names") or []
    return names[target] if 0 <= target < len(names) else str(target)


def render_html(run: "BenchmarkRun") -> str:
    """The whole report as one HTML string (no external resources)."""
    figs = [
        ("Every metric across methods", plots.metric_bars(run)),
        ("Faithfulness vs plausibility", plots.faithfulness_vs_plausibility(run)),
        ("Time and forward passes per explanation", plots.time_per_explanation(run)),
        *((f"Metrics by hardness: {s} terciles", plots.metric_by_hardness(run, s)) for s in run.strata),
    ]
    cost = run.evaluation_cost
    cost_line = (f"<p>Evaluation: {cost.get('seconds', 0):.1f} s, {int(cost.get('forward_passes', 0))} forward passes, "
                 f"{int(cost.get('cache_hits', 0))} answered from the engine's cache"
                 + (f" ({cost['cache_share']:.1%} of {int(cost.get('requests', 0))} requests)"
                    if cost.get("cache_share") is not None else "") + ".</p>") if cost else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>rationales benchmark: {html.escape(str(run.model.get('name')))} on {html.escape(run.dataset)}</title>
<style>{CSS}</style></head><body>
<h1>Benchmark: {html.escape(str(run.model.get('name')))} on {html.escape(run.dataset)}</h1>
<p>{run.n_examples} examples · methods: {html.escape(', '.join(run.methods))}</p>
<div class="protocol">{html.escape(run.protocol_text)}</div>
<h2>Results</h2>{_table(run)}{cost_line}
{''.join(f'<h2>{html.escape(t)}</h2>{_img(p, t)}' for t, p in figs)}
<h2>Words shaded by each method</h2>
<p class="key">Red = the word pushes towards the explained label, blue = away from it, deeper = stronger
(scores scaled by each explanation's largest absolute score; hover a word for its score).
<span class="w gold">Yellow</span> words are the gold rationale; <span class="w hard">underlined</span> words are
the method's hard rationale under the protocol ({html.escape(str(run.protocol.get('hard')))}).</p>
{_heatmaps(run)}
</body></html>"""


def write_html(run: "BenchmarkRun", path: str | Path) -> Path:
    p = Path(path)
    p.write_text(render_html(run), encoding="utf-8")
    return p
