"""`rationales optimize`: a faster forward backend, accepted only when it agrees with torch."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer

from . import app
from ._options import DATA_DIR, LOADER_OPTIONS, cli_errors, echo_json, load_data


@app.command("optimize")
def optimize_command(
    model: Path = typer.Option(..., "--model", help="A model folder saved by rationales (`train --out`)."),
    data: str = typer.Option("hatexplain:test", "--data", help="NAME:SPLIT or a data file: the posts agreement "
                             "and speed are measured on (use the data the model will see)."),
    data_dir: Optional[Path] = DATA_DIR,
    opt: Optional[List[str]] = LOADER_OPTIONS,
    limit: int = typer.Option(256, "--limit", help="Only the first N examples (0 = all)."),
    backends: str = typer.Option("onnx,onnx-int8,openvino-bf16,torch-bf16", "--backends",
                                 help="Comma list of candidates: onnx (ONNX Runtime fp32), onnx-int8 (dynamic "
                                 "int8), openvino-bf16 (OpenVINO, bf16 precision), torch-bf16 (torch autocast "
                                 "bf16 with oneDNN). bf16 is fast on CPUs with AMX or AVX-512-BF16."),
    min_agreement: float = typer.Option(0.995, "--min-agreement", help="Smallest argmax agreement with torch fp32 "
                                        "a backend needs to be accepted."),
    min_speedup: float = typer.Option(1.0, "--min-speedup", help="Smallest speed-up over torch a backend needs."),
    rounds: int = typer.Option(3, "--rounds", help="Timed runs per backend (best kept; order alternates)."),
    threads: Optional[int] = typer.Option(None, "--threads", help="torch and ONNX Runtime threads (default: "
                                          "torch's choice)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Measure only; write nothing into the model folder."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the result as JSON here."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON instead of a table."),
) -> None:
    """Measure faster forward backends (ONNX Runtime fp32 and int8, OpenVINO and torch bf16) against torch
    fp32 on your data, and write the fastest that agrees into the model folder:
    `load_classifier` and every command then use it (RATIONALES_BACKEND=torch or
    backend='torch' to opt out). Gradient and attention explainers stay on torch fp32."""
    from ..models.engine import set_threads
    from ..models.onnx_backend import optimize, parse_backends

    with cli_errors("--backends"):
        names = parse_backends(backends)
    with cli_errors("--threads"):
        set_threads(threads)
    ds = load_data(data, data_dir, opt=opt)
    with cli_errors():
        result = optimize(model, ds, backends=names, limit=limit or None, min_agreement=min_agreement,
                          min_speedup=min_speedup, rounds=rounds, threads=threads, write=not dry_run,
                          progress=not as_json)
    result["data"] = getattr(ds, "full_name", data)
    if out is not None:
        from ..jsonio import write_json

        out.parent.mkdir(parents=True, exist_ok=True)
        write_json(out, result)
    if as_json:
        echo_json(result)
        return
    _print_table(result)
    if out is not None:
        typer.echo(f"result written to {out}")


def _print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    ref = result["reference"]
    table = Table("backend", "posts/s", "speed-up", "argmax agreement", "flips", "mean |Δp|", "max |Δp|", "verdict",
                  title=f"{result['n']} posts of {result.get('data')}, {result['threads']} thread(s), best of "
                        f"{result['rounds']} runs")
    table.add_row("torch fp32", f"{ref['posts_per_s']:.1f}", "1.00", "reference", "", "", "", "")
    for c in result["candidates"]:
        verdict = "accepted" if c["backend"] == result["accepted"] else "passes" if c["accepted"] else "rejected"
        if "speedup" not in c:
            table.add_row(c["backend"], "", "", "", "", "", "", verdict)
            continue
        table.add_row(c["backend"], f"{c['posts_per_s']:.1f}", f"{c['speedup']:.2f}", f"{c['argmax_agreement']:.4f}",
                      str(c["flips"]), f"{c['mean_abs_dp']:.4f}", f"{c['max_abs_dp']:.4f}", verdict)
    Console().print(table)
    for c in result["candidates"]:
        if not c["accepted"]:
            typer.echo(f"{c['backend']} rejected: {c['reason']}")
    if result["written"]:
        typer.echo(f"{result['accepted']} accepted, written to {result['model']}: "
                   f"{', '.join(Path(p).name for p in result['written'])}")
    elif result["accepted"]:
        typer.echo(f"{result['accepted']} accepted (--dry-run: nothing written)")
    else:
        typer.echo("no backend passed; the forward stays on torch"
                   + (f" (removed the previous {', '.join(Path(p).name for p in result['removed'])})"
                      if result.get("removed") else ""))
