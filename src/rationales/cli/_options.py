"""What every command shares: the package's errors as CLI errors, method parameters,
datasets, targets and JSON output. One home each, so the commands cannot drift apart.
"""

from __future__ import annotations

import json
import re
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional

import typer

# -- options declared once ----------------------------------------------------------------
PARAM = typer.Option(None, "--param", "-p", help="A method parameter, METHOD.NAME=VALUE (repeatable): "
                     "lime.n_samples=500, ngram.sizes=1,2. VALUE is JSON or a comma list.")
PARAMS = typer.Option(None, "--params", help="Deprecated, use --param METHOD.NAME=VALUE. Method "
                      'parameters as JSON: \'{"lime": {"n_samples": 500}}\'.')
TARGET = typer.Option(None, "--target", help="Label (name or id) to explain; default: each example's "
                      "predicted label.")
DATA_DIR = typer.Option(None, "--data-dir", help="Folder holding the datasets (default: $RATIONALES_DATA, "
                        "then the download cache).")
_OPT_HELP = ("A loader option KEY=VALUE for the data this command reads (repeatable): -o lang=te, "
             "-o labels=binary, -o path=/data/te/. `rationales data list` shows each dataset's options.")
#: loader options, in every command that reads data
LOADER_OPTIONS = typer.Option(None, "--opt", "-o", help=_OPT_HELP)
#: the same, where -o already means --out (explain, run)
LOADER_OPTIONS_LONG = typer.Option(None, "--opt", help=_OPT_HELP.replace("-o ", "--opt ")
                                   + " (-o is --out in this command.)")

_SURROGATE = re.compile("[\ud800-\udfff]")


# -- errors -------------------------------------------------------------------------------
@contextmanager
def cli_errors(param_hint: Optional[str] = None) -> Iterator[None]:
    """Turn the package's errors into one clear CLI error (exit 2, no traceback).

    A wrong value (``ParameterError``, ``UnknownNameError``, ``InputError``, or the plain
    ``ValueError``/``KeyError`` older layers raise) becomes ``typer.BadParameter`` against
    ``param_hint`` when one is given; anything else becomes ``error: MESSAGE`` on stderr.
    """
    from ..errors import InputError, ParameterError, RationalesError, UnknownNameError

    try:
        yield
    except (RationalesError, ValueError, KeyError) as exc:
        msg = str(exc.args[0]) if type(exc) is KeyError and exc.args else str(exc)
        # a file, a model or the network at fault is no bad value of an option
        bad_value = (not isinstance(exc, RationalesError)
                     or isinstance(exc, (ParameterError, InputError, UnknownNameError)))
        if param_hint and bad_value:
            raise typer.BadParameter(msg, param_hint=param_hint) from None
        typer.secho(f"error: {msg}", fg="red", err=True)
        raise typer.Exit(2) from None


def warn(message: str) -> None:
    """A warning line on stderr."""
    typer.secho(f"warning: {message}", fg="yellow", err=True)


@contextmanager
def deprecations_shown() -> Iterator[None]:
    """Print the package's DeprecationWarnings on stderr (Python hides them outside __main__)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.filterwarnings("always", category=DeprecationWarning, module="rationales")
        yield
    for w in caught:
        if issubclass(w.category, DeprecationWarning) and "rationales" in str(w.filename):
            warn(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


# -- method names and parameters ------------------------------------------------------------
def method_names(methods: str | Iterable[str]) -> list[str]:
    """``--methods`` as registered explainer names (did-you-mean on a typo)."""
    from ..methods.request import parse_methods

    with cli_errors("--methods"):
        return parse_methods(methods)


def parse_value(text: str) -> Any:
    """A parameter value: JSON when it parses (500, 0.5, true, [1,2]), a comma list of
    such values (``1,2,3``), else the plain string (``mask``)."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    if "," in text:
        return [parse_value(part.strip()) for part in text.split(",")]
    return text


def parse_params(items: list[str], methods: list[str]) -> dict[str, dict[str, Any]]:
    """``["lime.n_samples=500", "ngram.sizes=1,2"]`` → ``{"lime": {"n_samples": 500}, ...}``."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, eq, value = item.partition("=")
        method, dot, name = key.partition(".")
        if not eq or not dot or not method or not name:
            raise typer.BadParameter(f"{item!r}: expected METHOD.PARAM=VALUE, e.g. lime.n_samples=500",
                                     param_hint="--param")
        if method not in methods:
            raise typer.BadParameter(f"{item!r}: method {method!r} is not among --methods {methods}",
                                     param_hint="--param")
        out.setdefault(method, {})[name] = parse_value(value)
    return out


def _as_flags(params: Mapping[str, Mapping[str, Any]]) -> str:
    """``{"lime": {"n_samples": 500}}`` written as ``--param lime.n_samples=500``."""
    def value(v: Any) -> str:
        if isinstance(v, str) and parse_value(v) == v:
            return v
        if isinstance(v, list) and v and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
            return ",".join(json.dumps(x) for x in v)
        return json.dumps(v, ensure_ascii=False)

    flags = [f"--param {m}.{k}={value(v)}" for m, kv in params.items() for k, v in kv.items()]
    return " ".join(flags) or "--param METHOD.NAME=VALUE"


def _legacy_params(text: str, empty_form: Optional[str] = None) -> dict[str, dict[str, Any]]:
    """The deprecated ``--params`` JSON object of objects, with a warning naming --param."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise typer.BadParameter(f"--params is not valid JSON ({exc}); write each parameter as "
                                 f"--param METHOD.NAME=VALUE instead", param_hint="--params") from None
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise typer.BadParameter('expected a JSON object of objects such as {"lime": {"n_samples": 200}}; '
                                 "better, --param lime.n_samples=200", param_hint="--params")
    new_form = empty_form if not value and empty_form else _as_flags(value)
    warn(f"--params is deprecated and will be removed in the next release; write {new_form}")
    return value


def method_params(param: Optional[list[str]], params_json: Optional[str], methods: list[str], *,
                  base: Optional[Mapping[str, Mapping[str, Any]]] = None, only_listed: bool = False,
                  empty_form: Optional[str] = None) -> dict[str, dict[str, Any]]:
    """Method parameters from ``--param`` items, laid over the deprecated ``--params`` JSON
    when given, else over ``base`` (a command's own defaults).

    Every method named must be among ``methods``; with ``only_listed`` the JSON's and the
    base's other methods are dropped instead (the demo's defaults name LIME even when
    ``--methods`` does not). ``empty_form``: the option that replaces ``--params '{}'``.
    """
    layer = _legacy_params(params_json, empty_form) if params_json is not None else base or {}
    out = {m: dict(kv) for m, kv in layer.items() if not only_listed or m in methods}
    extra = sorted(set(out) - set(methods))
    if extra:
        raise typer.BadParameter(f"parameters for method(s) {extra} that are not among --methods {methods}",
                                 param_hint="--params")
    for m, kv in parse_params(list(param or []), methods).items():
        out.setdefault(m, {}).update(kv)
    return out


def check_params(methods: list[str], params: Mapping[str, Mapping[str, Any]]) -> None:
    """Every parameter is known and valid, before any model is loaded."""
    from ..methods.request import build_explainers

    with cli_errors("--param"):
        build_explainers(methods, params)


# -- data and targets ---------------------------------------------------------------------
def loader_options(items: Optional[Iterable[str]], hint: str = "--opt") -> dict[str, Any]:
    """``-o KEY=VALUE`` items as loader options (:func:`rationales.data.base.parse_options`,
    the one parser of that syntax)."""
    from ..data.base import parse_options

    with cli_errors(hint):
        return parse_options(items)


def load_data(spec: str, data_dir: Optional[Path], *, hint: Optional[str] = "--data",
              opt: Optional[Iterable[str]] = None, **options: Any) -> Any:
    """The dataset ``--data NAME:SPLIT`` (or a .jsonl/.csv file) names, from ``--data-dir``;
    ``opt`` (the ``-o KEY=VALUE`` items) and ``options`` go to the loader. ``hint``: the
    option a wrong spec is shown against."""
    from ..data import load_spec

    options = {**options, **loader_options(opt)}
    with cli_errors(hint):
        return load_spec(spec, data_dir=data_dir, **options)


def spec_with_options(spec: str, opt: Optional[Iterable[str]], hint: str) -> str:
    """``spec`` with the ``-o`` loader options written into it (``NAME:SPLIT?KEY=VALUE``),
    for commands that hand a dataset on as a string (the server, corpus jobs)."""
    from ..data.base import with_options

    options = loader_options(opt)
    if options and Path(spec).suffix.lower() in (".jsonl", ".csv", ".tsv", ".json"):
        raise typer.BadParameter(f"loader options apply to a dataset NAME:SPLIT, and {spec!r} is a file",
                                 param_hint=hint)
    return with_options(spec, options)


def check_out(out: Optional[Path], hint: str = "--out") -> None:
    """Catch ``-o lang=te`` where ``-o`` means ``--out``: loader options are ``--opt`` there."""
    if out is not None and "=" in out.name and not out.suffix and len(out.parts) == 1:
        raise typer.BadParameter(f"-o is {hint} in this command, not a loader option; write "
                                 f"--opt {out.name} for a loader option", param_hint=hint)


def parse_target(value: Optional[str]) -> Optional[str]:
    """``--target`` as given: a label name or id; the package resolves it against the model
    (``"1"`` is the id 1 unless a label is named "1"). None: each example's predicted label."""
    if value is None or not value.strip():
        return None
    return value.strip()


# -- output -------------------------------------------------------------------------------
def echo_json(value: Any, indent: Optional[int] = 2) -> None:
    """``--json`` output: strict JSON, valid UTF-8 whatever the input held."""
    from ..jsonio import dumps

    typer.echo(dumps(value, indent=indent))


def printable(text: str) -> str:
    """``text`` safe for a terminal: an unpaired surrogate (what Python makes of a byte that
    was not UTF-8) cannot be encoded, so it is shown as �."""
    return _SURROGATE.sub("\ufffd", text)
