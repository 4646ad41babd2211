"""`rationales run ...`: corpus-scale jobs that stream, store per chunk and resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer

from . import app
from ._options import (
    LOADER_OPTIONS_LONG,
    PARAM,
    PARAMS,
    TARGET,
    check_out,
    check_params,
    cli_errors,
    echo_json,
    method_names,
    method_params,
    parse_target,
    spec_with_options,
)

run_app = typer.Typer(
    help="Corpus-scale jobs: stream the input, store results as they are made, resume after a "
    "crash (rerun the same command), optionally on Ray.",
    no_args_is_help=True,
)
app.add_typer(run_app, name="run")

_MODEL = typer.Option(..., "--model", "-m", help="A model folder or a backbone name (minilm-en, tfidf, ...).")
_INPUT = typer.Option(..., "--input", "-i", help="A .jsonl or .csv file (streamed) or NAME:SPLIT (e.g. hatexplain:test).")
_METHODS = typer.Option("occlusion", "--methods", help="Comma-separated explainers, e.g. ngram,occlusion.")
_OUT = typer.Option(..., "--out", "-o", help="The job folder; rerunning with the same folder resumes.")
_CHUNK = typer.Option(64, "--chunk-size", min=1, help="Rows per chunk (one store transaction each).")
_ENGINE = typer.Option("local", "--engine", help="local or ray (needs: pip install 'rationales[ray]').")
_ADDRESS = typer.Option(None, "--address", help="Ray cluster: auto, ray://host:10001 (default: start a local one).")
_WORKERS = typer.Option(None, "--workers", min=1, help="Ray workers (default: one per CPU of the cluster).")
_TEXT = typer.Option(None, "--text-field", help="Column/field holding the text or word list.")
_ID = typer.Option(None, "--id-field", help="Column/field holding the row id (default: id, post_id, ... or the line).")
_LIMIT = typer.Option(None, "--limit", min=1, help="Only the first N input rows.")
_RETRY = typer.Option(False, "--retry-failed", help="Recompute explanations that failed before.")
_QUIET = typer.Option(False, "--quiet", "-q", help="No progress bar.")
_JSON = typer.Option(False, "--json", help="Print the summary as JSON.")


def _methods(methods: str, param: Optional[List[str]], params: Optional[str]) -> dict[str, Any]:
    """``methods`` and ``params`` of a job from --methods, --param (and the deprecated
    --params), checked before the job loads a model."""
    names = method_names(methods)
    kw = method_params(param, params, names)
    check_params(names, kw)
    return {"methods": names, "params": kw}


def _print_summary(summary: Any, as_json: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    d = summary.to_dict()
    if as_json:
        echo_json(d)
        return
    console = Console()
    console.print(
        f"[bold]{d['kind']}[/bold] {d['status']} in {d['seconds']:.1f}s ({d['engine']}, {d['workers']} worker(s)): "
        f"{d['rows']} rows read, {d['new_results']} new results, {d['skipped']} already done, "
        f"{d['failed']} failed, {d['bad_rows']} bad rows; {d['stored']} results stored in {d['out']}"
    )
    if d["bad_rows"]:
        console.print(f"bad rows are listed by: rationales run status --out {d['out']} --errors")
    if d["metrics"]:
        t = Table("method", "metric", "value", "n", title="mean of per-example values")
        for m in d["metrics"]:
            t.add_row(m["method"], m["metric"], "-" if m["value"] is None else f"{m['value']:.4f}", str(m["n"]))
        console.print(t)
    for label in d["non_mean_metrics"]:
        console.print(f"[dim]{label}: pooled over examples, not a mean; export and run `rationales evaluate` for it[/dim]")


def _run(kind: str, opt: Optional[List[str]] = None, **kw: Any) -> None:
    from ..jobs import run_job

    check_out(kw["out"])
    kw["input"] = spec_with_options(kw["input"], opt, "--input")
    as_json = kw.pop("as_json")
    try:
        with cli_errors():
            summary = run_job(kind, **kw)
    except KeyboardInterrupt:
        typer.echo(f"\ninterrupted: finished chunks are stored in {kw['out']}; rerun the same command to resume.", err=True)
        raise typer.Exit(130) from None
    _print_summary(summary, as_json)


@run_app.command("explain")
def explain_cmd(model: str = _MODEL, input: str = _INPUT, methods: str = _METHODS, out: Path = _OUT,
                param: Optional[List[str]] = PARAM, params: Optional[str] = PARAMS,
                target: Optional[str] = TARGET, chunk_size: int = _CHUNK,
                engine: str = _ENGINE, address: Optional[str] = _ADDRESS, workers: Optional[int] = _WORKERS,
                text_field: Optional[str] = _TEXT, id_field: Optional[str] = _ID, limit: Optional[int] = _LIMIT,
                opt: Optional[List[str]] = LOADER_OPTIONS_LONG,
                retry_failed: bool = _RETRY, quiet: bool = _QUIET, as_json: bool = _JSON) -> None:
    """Explain every row of a corpus; results go to OUT/results.sqlite as they are made."""
    _run("explain", model=model, input=input, out=out, **_methods(methods, param, params),
         target=parse_target(target), chunk_size=chunk_size,
         engine=engine, address=address, workers=workers, text_field=text_field, id_field=id_field, limit=limit,
         retry_failed=retry_failed, progress=not quiet, as_json=as_json, opt=opt)


@run_app.command("evaluate")
def evaluate_cmd(model: str = _MODEL, input: str = _INPUT, methods: str = _METHODS, out: Path = _OUT,
                 protocol: str = typer.Option("hatexplain", "--protocol", help="Evaluation protocol preset."),
                 param: Optional[List[str]] = PARAM, params: Optional[str] = PARAMS,
                 target: Optional[str] = TARGET, chunk_size: int = _CHUNK,
                 engine: str = _ENGINE, address: Optional[str] = _ADDRESS, workers: Optional[int] = _WORKERS,
                 text_field: Optional[str] = _TEXT, id_field: Optional[str] = _ID, limit: Optional[int] = _LIMIT,
                 opt: Optional[List[str]] = LOADER_OPTIONS_LONG,
                 retry_failed: bool = _RETRY, quiet: bool = _QUIET, as_json: bool = _JSON) -> None:
    """Explain and evaluate every row with one or more methods; store per-example metrics, print a table."""
    _run("evaluate", model=model, input=input, out=out, protocol=protocol, **_methods(methods, param, params),
         target=parse_target(target), chunk_size=chunk_size,
         engine=engine, address=address, workers=workers, text_field=text_field, id_field=id_field, limit=limit,
         retry_failed=retry_failed, progress=not quiet, as_json=as_json, opt=opt)


@run_app.command("export")
def export_cmd(out: Path = _OUT,
               to: Path = typer.Option(..., "--to", help="The file to write: .jsonl, .csv or .parquet."),
               format: Optional[str] = typer.Option(None, "--format", help="jsonl, csv or parquet (default: from --to)."),
               methods: Optional[str] = typer.Option(None, "--methods", help="Only these methods."),
               params_hash: Optional[str] = typer.Option(None, "--params-hash", help="Only this parameter set (see status)."),
               latest: bool = typer.Option(False, "--latest", help="Only the parameter sets of the last run.")) -> None:
    """Export a job folder's results in input order."""
    from ..jobs import export

    with cli_errors():
        n = export(out, to, format=format, latest=latest,
                   methods=[m.strip() for m in methods.split(",")] if methods else None,
                   params_hashes=[params_hash] if params_hash else None)
    typer.echo(f"{n} results written to {to}")


@run_app.command("status")
def status_cmd(out: Path = _OUT,
               errors: bool = typer.Option(False, "--errors", help="List every bad input row."),
               as_json: bool = _JSON) -> None:
    """What a job folder holds: runs, parameter sets with result counts, bad rows."""
    from rich.console import Console
    from rich.table import Table

    from ..jobs import job_status
    from ..jsonio import dumps

    with cli_errors():
        st = job_status(out)
    if as_json:
        echo_json(st)
        return
    console = Console()
    console.print(f"{st['store']}: {st['results']} results ({st['failed']} failed), {len(st['bad_rows'])} bad rows")
    t = Table("params hash", "method", "results", "failed", "model", "parameters", title="parameter sets")
    for p in st["param_sets"]:
        key = p["params"]
        t.add_row(p["params_hash"], p["method"], str(p["results"]), str(p["failed"]), str(key.get("model")),
                  dumps(key.get("params"), sort_keys=True))
    console.print(t)
    r = Table("run", "kind", "status", "rows", "new", "skipped", "seconds", title="runs")
    for run in st["runs"]:
        s = run["summary"] or {}
        r.add_row(str(run["run_id"]), run["kind"], run["status"], str(s.get("rows", "")),
                  str(s.get("new_results", "")), str(s.get("skipped", "")),
                  f"{s['seconds']:.1f}" if s.get("seconds") is not None else "")
    console.print(r)
    if errors:
        for e in st["bad_rows"]:
            console.print(f"{e['source']} line {e['line']}: {e['error']}", markup=False, highlight=False)
