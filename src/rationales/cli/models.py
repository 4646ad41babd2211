"""CLI commands for the models stage: `rationales train` and `rationales backbones`."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from . import app
from ._options import DATA_DIR, LOADER_OPTIONS, cli_errors, deprecations_shown, echo_json, load_data


@app.command("backbones")
def backbones_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the registered backbones: languages, licence, size, installed (any local Hugging Face folder works too)."""
    from ..models import backbones
    from ..models.backbones import installed

    entries = [{**e, "installed": installed(e["name"])} for e in backbones()]
    if as_json:
        echo_json(entries)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "languages", "differentiable", "licence", "size", "installed", "description")
    for e in entries:
        table.add_row(e["name"], ", ".join(e.get("languages", [])), str(e.get("differentiable")),
                      e.get("license", "-"), e.get("size", "-"),
                      "yes" if e["installed"] else f"no: {e.get('fetch', 'see the description')}",
                      e.get("description", ""))
    Console().print(table)


@app.command("train")
def train_command(
    data: str = typer.Option(..., "--data", help="Training data: NAME:SPLIT (hatexplain:val) or a .jsonl/.csv file."),
    out: Path = typer.Option(..., "--out", help="Folder to write the trained model into."),
    backbone: str = typer.Option("minilm-en", "--backbone", help="Backbone name, model folder, or saved model to continue from."),
    eval_data: Optional[str] = typer.Option(None, "--eval-data", help="Evaluation data, evaluated each epoch; the best "
                                            "epoch by macro-F1 is kept."),
    data_dir: Optional[Path] = DATA_DIR,
    labels: Optional[str] = typer.Option(None, "--labels", help="Label scheme passed to the loader (hatexplain: 3class "
                                         "or binary for toxic vs normal); the same as -o labels=..."),
    opt: Optional[List[str]] = LOADER_OPTIONS,
    rationale_loss: Optional[str] = typer.Option(None, "--rationale-loss", help="hatexplain, xmutest, or prior (with "
                                                 "--rationales-from: align the model's gradient×input with the "
                                                 "explanations' scores); none by default."),
    rationale_weight: float = typer.Option(0.001, "--rationale-weight", help="λ of the hatexplain loss."),
    rationale_gamma: float = typer.Option(5.0, "--rationale-gamma", help="γ of softmax(γ·mask) in the hatexplain loss."),
    alpha: float = typer.Option(0.7, "--alpha", help="Weight of the attention BCE in the xmutest loss."),
    rationales_from: Optional[Path] = typer.Option(None, "--rationales-from", help="JSONL of explanations of the "
                                                   "training posts (rationales explain --out): stage 2, their hard "
                                                   "rationales supervise training; with --rationale-loss prior, "
                                                   "their scores are the priors."),
    machine_rationale: str = typer.Option("xmutest", "--machine-rationale", help="With --rationales-from: the rule that "
                                          "turns an explanation's scores into a hard rationale when it carries none: "
                                          "xmutest, top_k=K, top_fraction=F or threshold=T (see rationales.rules)."),
    prior_alignment: str = typer.Option("kl", "--prior-alignment", help="With --rationale-loss prior: kl "
                                        "(KL(softmax(prior/T) ‖ softmax(attribution/T))) or mse, on scores divided "
                                        "by their largest |value|."),
    prior_weight: float = typer.Option(1.0, "--prior-weight", help="λ of the prior loss: CE + λ·alignment."),
    prior_temperature: float = typer.Option(0.5, "--prior-temperature", help="T of the kl prior alignment."),
    epochs: int = typer.Option(3, "--epochs"),
    batch_size: int = typer.Option(16, "--batch-size"),
    grad_accum: int = typer.Option(1, "--grad-accum", min=1, help="Batches per optimizer step (effective batch: "
                                   "batch size × grad accum; the schedule counts optimizer steps)."),
    group_by_length: bool = typer.Option(True, "--group-by-length/--random-batches", help="Batch posts of similar "
                                         "length (less padding; the default) or draw random batches."),
    bf16: bool = typer.Option(False, "--bf16", help="bfloat16 autocast where the CPU has native bf16 (AVX512-BF16 "
                              "or AMX); elsewhere a warning, and fp32."),
    lr: float = typer.Option(2e-5, "--lr"),
    warmup: float = typer.Option(0.1, "--warmup", help="Fraction of steps with linear warm-up."),
    max_length: int = typer.Option(128, "--max-length", help="Subword tokens per input (longer texts keep the words that fit)."),
    seed: int = typer.Option(0, "--seed"),
    threads: Optional[int] = typer.Option(None, "--threads", help="torch threads (default: torch's choice)."),
    freeze: Optional[str] = typer.Option(None, "--freeze", help="How deep to fine-tune: none (all layers), "
                                         "embeddings (all but the embeddings), encoder (the head only), or N (the "
                                         "top N encoder layers). Default: the backbone's (embeddings for "
                                         "embeddinggemma-300m, else none)."),
) -> None:
    """Fine-tune a classifier, optionally supervising its attention with rationales."""
    from ..models.train import train
    from ..rules import SYNTAX, normalise_rule, parse_rule

    with cli_errors("--machine-rationale"), deprecations_shown():
        machine_rationale = normalise_rule(machine_rationale)  # top_k:5 (deprecated) → top_k=5
    if parse_rule(machine_rationale) == ("top_fraction", None):
        raise typer.BadParameter(f"{machine_rationale!r} is resolved against an evaluation dataset, not "
                                 f"training data; use {SYNTAX.replace(', top_fraction=mean_gold', '')}",
                                 param_hint="--machine-rationale")
    options = {"labels": labels} if labels else {}
    train_ds = load_data(data, data_dir, opt=opt, **options)
    eval_ds = load_data(eval_data, data_dir, hint="--eval-data", opt=opt, **options) if eval_data else None
    typer.echo(f"training {backbone} on {train_ds.full_name} ({len(train_ds)} examples, "
               f"labels {train_ds.label_names}), rationale loss: {rationale_loss or 'none'}")
    with cli_errors():
        clf = train(train_ds, backbone=backbone, eval_data=eval_ds, rationale_loss=rationale_loss,
                    rationale_weight=rationale_weight, rationale_gamma=rationale_gamma, alpha=alpha,
                    epochs=epochs, batch_size=batch_size, lr=lr, warmup=warmup, max_length=max_length,
                    seed=seed, out=out, rationales_from=rationales_from,
                    machine_rationale=machine_rationale, threads=threads, freeze=freeze,
                    prior_alignment=prior_alignment, prior_weight=prior_weight,
                    prior_temperature=prior_temperature, group_by_length=group_by_length,
                    grad_accum=grad_accum, bf16=bf16)
    metrics = getattr(clf, "metrics", {}).get("eval")
    config = getattr(clf, "train_config", {})
    if metrics:
        auroc = metrics.get("auroc")
        typer.echo(f"best epoch {config.get('best_epoch', '-')}: accuracy {metrics['accuracy']:.4f}  "
                   f"macro-F1 {metrics['macro_f1']:.4f}  AUROC "
                   f"{'n/a' if auroc is None else f'{auroc:.4f}'} on {config.get('eval_data')}")
    source = config.get("rationales_from")
    if rationale_loss == "prior" and source:
        typer.echo(f"priors: {source['with_prior']} posts; without a prior (CE only): {source['without']} "
                   f"({source['failed_skipped']} failed, {source['all_zero_skipped']} all-zero explanations)")
    speed = config.get("throughput") or {}
    if speed.get("tokens_per_second"):
        typer.echo(f"{speed['tokens_per_second']:.0f} tokens/s in training steps, "
                   f"{speed['padding_share']:.1%} of the batches padding")
    typer.echo(f"trained in {config.get('train_seconds')} s; saved to {out}")
