"""Matplotlib figures of a benchmark run, returned as PNG bytes (the HTML report inlines them)."""

from __future__ import annotations

import io
import math
import textwrap
from typing import TYPE_CHECKING, Sequence

from ..evaluation.metrics import LOWER_IS_BETTER
from .table import result_matrix

if TYPE_CHECKING:
    from ..evaluation.benchmark import BenchmarkRun


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 10, "axes.titlesize": 10, "axes.spines.top": False,
                         "axes.spines.right": False})
    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def _colors(methods: Sequence[str]) -> dict[str, tuple]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return {m: cmap(i % 10) for i, m in enumerate(methods)}


def metric_bars(run: "BenchmarkRun") -> bytes:
    """One small bar chart per metric, methods on the y axis, the variant in the title."""
    plt = _plt()
    methods, names, cells = result_matrix(run.results)
    names = [n for n in names if any(not math.isnan(cells[(m, n)].value) for m in methods if (m, n) in cells)]
    cols = 3
    rows = max(1, math.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 0.42 * len(methods) * rows + 1.3 * rows), squeeze=False)
    colors = _colors(methods)
    for ax, name in zip(axes.flat, names):
        vals = [cells[(m, name)].value if (m, name) in cells else float("nan") for m in methods]
        y = list(range(len(methods)))[::-1]
        ax.barh(y, [0 if math.isnan(v) else v for v in vals], color=[colors[m] for m in methods])
        ax.set_yticks(y, methods)
        for yi, v in zip(y, vals):
            text = " n/a" if math.isnan(v) else (f" {v:.3f}" if v == 0 or abs(v) >= 1e-3 else f" {v:.2g}")
            ax.text(0 if math.isnan(v) else v, yi, text, va="center", fontsize=8)
        variant = next((cells[(m, name)].variant for m in methods if (m, name) in cells), "")
        arrow = "lower is better" if name in LOWER_IS_BETTER else "higher is better"
        ax.set_title(f"{name} ({arrow})\n" + "\n".join(textwrap.wrap(variant, 58)[:2]), loc="left", fontsize=8.5)
        ax.axvline(0, color="#444", lw=0.8)
        lo = min([0.0] + [v for v in vals if not math.isnan(v)])
        hi = max([0.0] + [v for v in vals if not math.isnan(v)])
        if hi - lo < 1e-9:  # all zero (e.g. no failures): show it on a 0..1 axis
            lo, hi = 0.0, 1.0
        ax.set_xlim(lo - 0.05 * (hi - lo), hi + 0.3 * (hi - lo))
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    return _png(fig)


def faithfulness_vs_plausibility(run: "BenchmarkRun", x: str = "token_f1", y: str = "comprehensiveness") -> bytes:
    """Each method as a point: plausibility (x) against faithfulness (y)."""
    plt = _plt()
    methods, _, cells = result_matrix(run.results)
    colors = _colors(methods)
    fig, ax = plt.subplots(figsize=(6.2, 4.6))
    for m in methods:
        if (m, x) in cells and (m, y) in cells:
            xv, yv = cells[(m, x)].value, cells[(m, y)].value
            if math.isnan(xv) or math.isnan(yv):
                continue
            ax.scatter([xv], [yv], s=70, color=colors[m], edgecolor="black", zorder=3)
            ax.annotate(m, (xv, yv), textcoords="offset points", xytext=(6, 5), fontsize=9)
    def label(name: str) -> str:
        return next((cells[(m, name)].label for m in methods if (m, name) in cells), name)

    ax.set_xlabel("\n".join(textwrap.wrap("plausibility: " + label(x), 70)), fontsize=8.5)
    ax.set_ylabel("\n".join(textwrap.wrap("faithfulness: " + label(y), 50)), fontsize=8.5)
    ax.grid(alpha=0.3)
    ax.set_title("Faithfulness vs plausibility (up and right is better)", loc="left")
    fig.tight_layout()
    return _png(fig)


def time_per_explanation(run: "BenchmarkRun") -> bytes:
    """Seconds per explanation and forward passes per explanation for each method."""
    plt = _plt()
    methods = [m for m in run.methods if m in run.timing]
    colors = _colors(run.methods)
    secs = [run.timing[m]["seconds_per_explanation"] for m in methods]
    fwd = [run.timing[m]["forward_passes"] / max(1, run.timing[m]["explanations"]) for m in methods]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 0.45 * len(methods) + 1.5))
    y = list(range(len(methods)))[::-1]
    panels = ((a1, secs, "seconds per explanation"),
              (a2, fwd, "engine forward passes per explanation\n(gradient passes run outside the engine)"))
    for ax, vals, title in panels:
        ax.barh(y, vals, color=[colors[m] for m in methods])
        ax.set_yticks(y, methods)
        positive = [v for v in vals if v > 0]
        if positive and max(positive) / min(positive) > 100:
            ax.set_xscale("log")
        for yi, v in zip(y, vals):
            ax.text(v, yi, f" {v:.3g}", va="center", fontsize=8)
        ax.set_title(title + " (log scale)" * (ax.get_xscale() == "log"), loc="left")
        ax.set_xlim(right=(max(vals) if vals else 1) * (3 if ax.get_xscale() == "log" else 1.25) or 1)
    fig.tight_layout()
    return _png(fig)


#: the metrics drawn against hardness (when the run has them)
HARDNESS_METRICS = ("token_f1", "auprc", "comprehensiveness", "sufficiency", "mass_accuracy")


def metric_by_hardness(run: "BenchmarkRun", signal: str) -> bytes:
    """One panel per metric: its mean in the hardest, middle and easiest third, per method."""
    plt = _plt()
    rows = run.strata.get(signal, [])
    names = [n for n in HARDNESS_METRICS if any(r["metric"] == n for r in rows)] or \
        list(dict.fromkeys(r["metric"] for r in rows))[:4]
    colors = _colors(run.methods)
    fig, axes = plt.subplots(1, max(1, len(names)), figsize=(3.4 * max(1, len(names)), 3.2), squeeze=False)
    thirds = ("hardest", "middle", "easiest")
    for ax, name in zip(axes[0], names):
        for r in (r for r in rows if r["metric"] == name):
            ys = [r[t]["mean"] if r[t]["mean"] is not None else float("nan") for t in thirds]
            ax.plot(range(3), ys, marker="o", color=colors.get(r["method"]), label=r["method"])
        ax.set_xticks(range(3), [f"{t}\n(n={next((r[t]['n'] for r in rows if r['metric'] == name), 0)})"
                                  for t in thirds], fontsize=8)
        arrow = "lower is better" if name in LOWER_IS_BETTER else "higher is better"
        ax.set_title(f"{name} ({arrow})", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"by {signal} tercile", fontsize=10)
    fig.tight_layout()
    return _png(fig)
