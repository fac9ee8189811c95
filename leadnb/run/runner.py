"""``leadnb run``: check everything, execute the notebooks with Papermill, publish one run folder.

Design, in the order a run goes:

1. **Plan** (:func:`plan_run`): check the notebook names, load and validate the params file,
   every configured table and what each requested notebook needs
   (:func:`leadnb.data.validation.validate_params_file`, the same check as ``leadnb validate``),
   resolve the analysis date and the kernel, and check the notebook's own params section against the parameters its
   ``parameters`` cell declares (names and simple annotated types). Papermill only warns about an
   unknown parameter; here it is a :class:`~leadnb.errors.ParamsError` (exit 2). Nothing is
   written while planning, not even the output folder.
2. **Execute** (:func:`execute_task`): one Papermill execution per notebook on the ``leadnb``
   kernel (or, when it is not installed, a kernel on the runner's own interpreter) with the
   notebooks folder as working directory. With ``jobs > 1`` each notebook runs in
   its own worker process (``python -m leadnb.run.runner``, the task sent through a pipe), so every
   process starts its own kernel and nothing is shared between kernel start-ups (no port or
   connection-file races, no re-import of the caller's ``__main__`` as multiprocessing's spawn
   does). A dead kernel is retried once. A failed notebook is
   kept as Papermill saved it (with its error banner); the others still run unless
   ``fail_fast``. Each notebook is then scrubbed of secrets and rendered to HTML without code
   (a failed one: a short failure page instead).
3. **Publish** (:func:`run`): the run is written under ``OUT/.tmp-<run_id>/`` and renamed to
   ``OUT/<run_id>/`` only when complete (manifest and index included), so a reader or a second
   run never sees half a run. ``OUT/index.html`` is rewritten through a temporary file under a
   lock; ``OUT/latest`` (a symlink, swapped atomically) moves only after a successful run of all
   four notebooks, and never to a run with an older analysis date than the one it points at
   (backfills). The A/B readout is appended to the experiment log only then, under the lock.

Secrets: a params file names environment variables (``data.<table>.url_env``); their values,
their userinfo and the passwords inside them (plain, percent-encoded, and the part after an
``@`` inside the password) are replaced in every text file of the run (notebook outputs, HTML,
CSV, JSON, ``run.log``), in the manifest and in every line printed; any ``scheme://...@`` URL has
everything between the scheme and its last ``@`` masked. A binary file that contains a secret is
removed and the removal is recorded. Notebooks receive only ``params_path``, ``as_of``,
``out_dir``, ``interactive`` and their own section, never a secret value.

Safety: notebook names are plain names (``[A-Za-z0-9_]+``) of files in the notebook folder, run
names are slugged and truncated, and nothing is ever deleted outside the run's own temporary
folder. Workers die with the runner (Linux parent-death signal, own process group) and take their
kernel with them; a temporary folder whose owner process is gone is removed by the next run.
``OUT/latest`` moves only for a successful run of all four notebooks; a failed notebook gets a
short failure page for stakeholders, its traceback stays in the executed notebook and
``OUT/<run_id>/run.log``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import functools
import hashlib
import json
import os
import re
import secrets as _random
import shutil
import signal
import subprocess
import sys
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from leadnb.errors import DataError, LeadnbError, ParamsError

KERNEL_NAME = "leadnb"
OWN_KERNEL = "own-interpreter"  # what the manifest calls the fallback kernel (sys.executable)
NOTEBOOK_NAME = re.compile(r"[A-Za-z0-9_]+")
RUN_NAME_MAX = 60  # characters of run.name kept in the run id (a file name)
RUN_LOG = "run.log"
OWNER_FILE = ".owner"  # in OUT/.tmp-<run_id>/: "<pid> <process start time>" of the run writing it
STANDARD_PARAMETERS = ("params_path", "as_of", "out_dir", "interactive")
TEXT_SUFFIXES = {".ipynb", ".html", ".htm", ".csv", ".tsv", ".json", ".txt", ".md", ".svg", ".log"}
MIN_SECRET_LEN = 4
PACKAGES = (
    "leadnb",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "lifelines",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbconvert",
    "nbformat",
    "nbclient",
    "ipykernel",
    "pyarrow",
    "sqlalchemy",
)
# scheme://user:password@ ; the scheme starts after a non-letter and is at most 40 characters,
# so a page of base64 image data is scanned in linear time (an unbounded scheme made every
# position of a base64 run a new attempt that read to the run's end: seconds per report). Only
# a letter may not precede it: a colour code ("\x1b[43m") or digit right before the URL, as in
# IPython's tracebacks, must not hide a password.
# Everything between "scheme://" and the LAST "@" of the URL (a password may hold "@", ":" or
# "/" unencoded) is masked; the userinfo must start "user:" (or ":") so a link such as
# https://host/path:8@x or https://medium.com/@name is left alone.
_URL_PASSWORD = re.compile(
    r"(?<![A-Za-z])(?P<head>[a-zA-Z][\w+.-]{0,40}://)(?P<userinfo>[^\s:/@'\"]*:[^\s'\"]*)@"
)
_ENV_URL = re.compile(r"[a-zA-Z][\w+.-]*://")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def skip_slow_optional_imports() -> None:
    """Keep jsonschema from importing ``rfc3987_syntax`` in leadnb's own processes.

    When that optional package is installed, ``import nbformat`` (through jsonschema) compiles
    about forty Lark grammars, which takes ~3 s per process; nbformat never validates the
    ``iri`` format it is for, and jsonschema skips the format when the import fails. Called by
    the command line and the worker processes, not on import of this module.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def default_notebook_dir() -> Path:
    """The repository's ``notebooks/`` folder (next to the ``leadnb`` package)."""
    import leadnb

    return Path(leadnb.__file__).resolve().parents[1] / "notebooks"


# --------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Secret:
    """A value to mask: ``value`` is replaced by ``mask`` wherever it appears."""

    value: str
    mask: str


@dataclass(frozen=True)
class NotebookTask:
    """Everything one worker needs to execute and render one notebook (picklable)."""

    name: str
    input_path: Path
    run_dir: Path
    parameters: dict[str, Any]
    cwd: Path
    kernel_name: str = KERNEL_NAME
    secrets: tuple[Secret, ...] = ()
    final_run_dir: Path | None = None
    max_attempts: int = 2
    own_kernel: bool = False  # the named kernel is missing: run one on sys.executable

    @property
    def out_dir(self) -> Path:
        return self.run_dir / self.name


@dataclass
class NotebookResult:
    """How one notebook went: ``status`` is success, failed or skipped."""

    name: str
    status: str
    seconds: float = 0.0
    attempts: int = 0
    error: str | None = None
    title: str | None = None
    tables: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    fix: str | None = None  # failed: what to do about it (one line)
    detail: str | None = None  # failed: the full error (traceback), for run.log only


@dataclass
class RunPlan:
    """A checked run: what will execute, with which parameters. Nothing written yet."""

    params: Any
    params_path: Path
    as_of: str
    notebook_dir: Path
    notebooks: list[str]
    parameters: dict[str, dict[str, Any]]
    secrets: tuple[Secret, ...]
    inputs: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    kernel: KernelChoice | None = None


@dataclass
class RunResult:
    """What :func:`run` did: the published folder and the exit code for the CLI."""

    run_id: str
    run_dir: Path
    status: str
    exit_code: int
    index_path: Path
    notebooks: list[NotebookResult]
    latest_moved: bool


# --------------------------------------------------------------------------------------------
# Secrets


def url_secret_forms(url: str) -> list[str]:
    """The parts of a ``scheme://user:password@host`` URL that must never be written.

    The userinfo is everything between the scheme and the LAST ``@`` (a password may hold an
    unencoded ``@``, ``:`` or ``/``). Returned: the userinfo and the password, each plain,
    percent-decoded and percent-encoded, plus the partial forms a parser that splits at the
    FIRST ``@`` would print (the part of the password after each of its ``@``). Shorter than
    :data:`MIN_SECRET_LEN` characters: left out (it would mask ordinary words).

    >>> url_secret_forms("postgresql://me:p@ss:w0rd/x@y@db:5432/crm")[:2]
    ['me:p@ss:w0rd/x@y', 'p@ss:w0rd/x@y']
    """
    m = _ENV_URL.match(url.strip())
    if not m:
        return []
    rest = url.strip()[m.end() :]
    if "@" not in rest:
        return []
    userinfo = rest.rsplit("@", 1)[0]
    password = userinfo.split(":", 1)[1] if ":" in userinfo else ""
    forms: list[str] = []
    for base in (userinfo, password):
        for v in (base, urllib.parse.unquote(base)):
            forms += [
                v,
                urllib.parse.quote(v, safe=""),
                urllib.parse.quote(v),
                urllib.parse.quote_plus(v),
            ]
            pieces = v.split("@")
            forms += ["@".join(pieces[i:]) for i in range(1, len(pieces))]
    seen: dict[str, None] = {}
    for f in forms:
        if len(f) >= MIN_SECRET_LEN:
            seen.setdefault(f)
    return list(seen)


def collect_secrets(params: Any, environ: Mapping[str, str] | None = None) -> tuple[Secret, ...]:
    """The secret values to mask in a run: each ``url_env`` variable's value and its parts.

    For every variable the params file names: the whole value (masked ``[secret $VAR]``) and the
    forms of :func:`url_secret_forms` (masked ``***``). Any other environment variable holding a
    URL with a password (``http_proxy=http://u:pw@proxy``...) is masked the same way. Longer
    values come first so a URL is masked whole before its password alone is.
    """
    env = os.environ if environ is None else environ
    named = [getattr(src, "url_env", None) for src in params.data.values()]
    found: dict[str, str] = {}
    for var in [v for v in named if v] + sorted(k for k in env if k not in named):
        value = env.get(var, "")
        forms = url_secret_forms(value)
        if var not in named and not forms:
            continue
        if len(value) >= MIN_SECRET_LEN:
            found.setdefault(value, f"[secret ${var}]")
        for form in forms:
            found.setdefault(form, "***")
    ordered = sorted(found.items(), key=lambda kv: -len(kv[0]))
    return tuple(Secret(v, m) for v, m in ordered)


def environ_secrets(environ: Mapping[str, str] | None = None) -> tuple[Secret, ...]:
    """The URL secrets of every environment variable (for messages printed before a params file
    is read): :func:`collect_secrets` without a params file."""
    from types import SimpleNamespace

    return collect_secrets(SimpleNamespace(data={}), environ)


def mask_text(text: str, secrets: Iterable[Secret]) -> str:
    """``text`` with every secret value replaced, and any ``scheme://userinfo@`` masked up to
    the URL's last ``@`` (``scheme://***@host``)."""
    for s in secrets:
        if s.value in text:
            text = text.replace(s.value, s.mask)
    if "://" not in text:
        return text
    return _URL_PASSWORD.sub(r"\g<head>***@", text)


def mask_value(value: Any, secrets: Iterable[Secret]) -> Any:
    """A JSON-able copy of ``value`` (dicts, lists, scalars, dates) with secrets masked."""
    secrets = tuple(secrets)
    if isinstance(value, Mapping):
        return {str(k): mask_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v, secrets) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, str):
        return mask_text(value, secrets)
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask_text(str(value), secrets)


def scrub_folder(
    folder: Path, secrets: Sequence[Secret], replacements: Sequence[tuple[str, str]] = ()
) -> list[str]:
    """Mask secrets (and apply plain ``replacements``) in every text file under ``folder``.

    A binary file containing a secret value is deleted; the deleted paths are returned.
    """
    removed: list[str] = []
    needles = [s.value.encode() for s in secrets]
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        if path.suffix.lower() in TEXT_SUFFIXES:
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                text = None
            if text is not None:
                new = text
                for old, repl in replacements:
                    new = new.replace(old, repl)
                new = mask_text(new, secrets)
                if new != text:
                    path.write_text(new, encoding="utf-8")
                continue
        if needles:
            data = path.read_bytes()
            if any(n in data for n in needles):
                path.unlink()
                removed.append(str(path.relative_to(folder)))
    return removed


# --------------------------------------------------------------------------------------------
# Planning: validation before anything runs


def _type_ok(value: Any, annotation: str) -> bool:
    """Whether a YAML value fits a parameter annotation such as ``int``, ``list[str]``, ``str | None``."""
    checks: dict[str, Callable[[Any], bool]] = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        "bool": lambda v: isinstance(v, bool),
        "list": lambda v: isinstance(v, list),
        "tuple": lambda v: isinstance(v, list | tuple),
        "dict": lambda v: isinstance(v, dict),
        "None": lambda v: v is None,
        "NoneType": lambda v: v is None,
    }
    text = annotation.strip().replace("typing.", "")
    if not text or text == "None":
        return True  # not annotated: anything papermill can write
    m = re.fullmatch(r"Optional\[(.*)\]", text)
    if m:
        text = f"{m.group(1)} | None"
    alternatives = [a.strip().split("[", 1)[0].strip().lower() for a in text.split("|")]
    alternatives = ["None" if a in ("none", "nonetype") else a for a in alternatives]
    if any(a not in checks for a in alternatives):
        return True  # an annotation we do not model: do not guess
    return any(checks[a](value) for a in alternatives)


def declared_parameters(notebook: Path) -> dict[str, dict[str, Any]]:
    """The parameters a notebook declares in its ``parameters`` cell (papermill's inspection).

    Raises :class:`ParamsError` when the notebook has no cell tagged ``parameters``.
    """
    import nbformat
    import papermill

    nb = nbformat.read(notebook, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not tagged:
        raise ParamsError(
            f"notebook {notebook.stem} has no cell tagged 'parameters'",
            file=str(notebook),
            fix="tag the notebook's first code cell 'parameters' (View > Cell toolbar > Tags) "
            f"and declare {', '.join(STANDARD_PARAMETERS)} there",
        )
    return papermill.inspect_notebook(str(notebook))


def check_notebook_parameters(
    notebook: Path, section: Mapping[str, Any], *, params_file: str | None = None
) -> dict[str, dict[str, Any]]:
    """Check a notebook's params section against what the notebook declares.

    Every key must be a declared parameter (not one of the four the runner sets itself), and a
    value must fit the parameter's annotation. Returns the declared parameters; raises
    :class:`ParamsError` naming the notebook, the key and the declared names.
    """
    name = notebook.stem
    declared = declared_parameters(notebook)
    missing = [p for p in STANDARD_PARAMETERS if p not in declared]
    if missing:
        raise ParamsError(
            f"notebook {name} does not declare the parameter(s) {', '.join(missing)} that "
            "leadnb run passes to every notebook",
            file=str(notebook),
            fix='add them to its parameters cell, e.g. out_dir: str = ""  # folder for outputs',
        )
    own = [p for p in declared if p not in STANDARD_PARAMETERS]
    reserved = [k for k in section if k in STANDARD_PARAMETERS]
    if reserved:
        raise ParamsError(
            f"{name}.{reserved[0]} cannot be set in the params file: leadnb run sets it",
            file=params_file,
            fix=f"remove {name}.{reserved[0]}; use run.as_of or --as-of for the analysis date",
        )
    unknown = [k for k in section if k not in declared]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), own, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ParamsError(
            f"unknown parameter(s) for notebook {name}: {', '.join(map(str, unknown))}{hint}",
            file=params_file,
            fix=f"notebook {name} declares: {', '.join(own) or '(no parameters of its own)'}; "
            f"rename or remove the key in the {name}: section",
        )
    for key, value in section.items():
        annotation = str(declared[key].get("inferred_type_name") or "")
        if not _type_ok(value, annotation):
            raise ParamsError(
                f"{name}.{key} must be {annotation}, got {value!r} ({type(value).__name__})",
                file=params_file,
                fix=f"notebook {name} declares {key}: {annotation} = {declared[key].get('default')}",
            )
    return declared


def _jsonable_section(section: Mapping[str, Any]) -> dict[str, Any]:
    """YAML dates become ISO strings so papermill can write them as literals."""
    return {
        k: mask_value(v, ()) if isinstance(v, dt.date | list | dict) else v
        for k, v in section.items()
    }


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _file_print(kind: str, path: Path | str, rows: int | None = None) -> dict[str, Any]:
    path = Path(path)
    digest = _sha256_file(path) if path.is_file() else None
    return {"table": kind, "path": str(path), "rows": rows, "sha256": digest}


def _abm_accounts_file(params: Any, notebook_dir: Path | None) -> Path | None:
    """The ABM account list the scoring notebook will read: its params section's value, else
    the default its parameters cell declares; relative to the params file (as the notebook
    resolves it). ``None`` when there is none."""
    value = params.notebook("scoring_calibration").get("abm_accounts_file")
    if value is None and notebook_dir is not None:
        nb = notebook_dir / "scoring_calibration.ipynb"
        if nb.is_file():
            declared = declared_parameters(nb).get("abm_accounts_file") or {}
            default = str(declared.get("default") or "")
            value = default.strip().strip("\"'")
    if not value or not str(value).strip():
        return None
    path = Path(str(value))
    return path if path.is_absolute() else (params.base_dir / path).resolve()


def fingerprint_inputs(
    params: Any,
    tables: Mapping[str, Any],
    *,
    notebooks: Sequence[str] = (),
    notebook_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """(table, path, rows, sha256) of every input that changes results.

    The params file, each configured table, the scoring rules file, every registration file of
    the experiments registry, and (when the scoring notebook runs) the ABM account list. Files
    are hashed byte for byte; a SQL table is hashed from its loaded rows (pandas' row hashes),
    so the fingerprint changes when the query result does.
    """
    out: list[dict[str, Any]] = []
    if params.path is not None:
        out.append(_file_print("params", params.path))
    for table, src in params.data.items():
        df = tables.get(table)
        rows = None if df is None else len(df)
        if src.path is not None:
            out.append(_file_print(table, src.path, rows))
            continue
        import pandas as pd

        digest = (
            hashlib.sha256(pd.util.hash_pandas_object(df, index=False).values.tobytes()).hexdigest()
            if df is not None
            else None
        )
        out.append(
            {"table": table, "path": f"sql via ${src.url_env}", "rows": rows, "sha256": digest}
        )
    rules = params.scoring.file
    if rules:
        out.append(_file_print("scoring_rules", rules))
    registry = params.experiments.registry
    if registry is not None:
        for f in sorted([*Path(registry).glob("*.yaml"), *Path(registry).glob("*.yml")]):
            out.append(_file_print("registration", f))
    if "scoring_calibration" in notebooks:
        abm = _abm_accounts_file(params, notebook_dir)
        if abm is not None:
            out.append(_file_print("abm_accounts", abm))
    return out


@dataclass(frozen=True)
class KernelChoice:
    """The kernel a run uses: the named Jupyter kernel, or the runner's own interpreter."""

    name: str
    own_interpreter: bool
    argv: tuple[str, ...]

    def describe(self) -> str:
        if self.own_interpreter:
            return (
                f"{OWN_KERNEL} ({self.argv[0]}; the Jupyter kernel {self.name!r} is not installed)"
            )
        return f"{self.name} ({self.argv[0] if self.argv else 'kernelspec'})"


def own_kernel_argv() -> tuple[str, ...]:
    """The command of a kernel on the runner's own interpreter (nbclient fills the file)."""
    return (sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}")


def resolve_kernel(kernel_name: str) -> KernelChoice:
    """The Jupyter kernel ``kernel_name`` if installed, else a kernel on ``sys.executable``.

    A plain ``pip install leadnb`` has no ``leadnb`` kernelspec; the runner's own interpreter
    has ipykernel and every package the notebooks import, so it is used instead (and said so).
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        return KernelChoice(kernel_name, True, own_kernel_argv())
    return KernelChoice(kernel_name, False, tuple(spec.argv))


def check_notebook_names(names: Sequence[str], nb_dir: Path) -> list[str]:
    """The requested notebook names, checked: plain names of ``.ipynb`` files in ``nb_dir``.

    A name must match ``[A-Za-z0-9_]+`` (a trailing ``.ipynb`` is dropped) and the file must be
    there; anything else (a path, ``..``, a space) is a one-line :class:`ParamsError` (exit 2).
    """
    available = sorted(p.stem for p in nb_dir.glob("*.ipynb") if NOTEBOOK_NAME.fullmatch(p.stem))
    hint = f"available in {nb_dir}: {', '.join(available) or '(none)'}"
    out: list[str] = []
    for raw in names:
        name = str(raw).strip().removesuffix(".ipynb")
        if not name:
            continue
        if not NOTEBOOK_NAME.fullmatch(name):
            raise ParamsError(
                f"notebook name {str(raw)[:80]!r} is not a plain name (letters, digits, _); {hint}"
            )
        if not (nb_dir / f"{name}.ipynb").is_file():
            raise ParamsError(f"notebook(s) not found: {name}; {hint}")
        if name not in out:
            out.append(name)
    if not out:
        raise ParamsError("no notebooks to run: pass --notebooks a,b or omit it for all four")
    return out


def plan_run(
    params_path: str | Path,
    *,
    notebooks: Sequence[str] | None = None,
    as_of: str | None = None,
    notebook_dir: str | Path | None = None,
    kernel_name: str = KERNEL_NAME,
) -> RunPlan:
    """Check the notebook names, the params, the tables and the notebooks' parameters; write
    nothing.

    Raises :class:`ParamsError` or :class:`DataError` (exit code 2) on the first kind of problem
    found; data problems are reported all together.
    """
    from leadnb.data import params as config
    from leadnb.data import validation as validate

    nb_dir = Path(notebook_dir).resolve() if notebook_dir else default_notebook_dir()
    if not nb_dir.is_dir():
        raise ParamsError(
            f"notebook folder not found: {nb_dir}; pass --notebook-dir DIR (the folder holding "
            "the .ipynb files)"
        )
    names = check_notebook_names(list(notebooks) if notebooks else list(config.NOTEBOOKS), nb_dir)

    path = Path(params_path).resolve()
    report, params, tables = validate.validate_params_file(
        path, as_of=as_of or None, notebooks=names, notebook_dir=nb_dir
    )
    if params is None:
        raise ParamsError(issues=report.errors)
    if report.errors:
        raise DataError(issues=report.errors)
    when = params.as_of(as_of or None).strftime("%Y-%m-%d")

    kernel = resolve_kernel(kernel_name)
    secrets = collect_secrets(params)
    parameters: dict[str, dict[str, Any]] = {}
    for name in names:
        section = params.notebook(name)
        check_notebook_parameters(nb_dir / f"{name}.ipynb", section, params_file=str(path))
        parameters[name] = {
            "params_path": str(path),
            "as_of": when,
            "out_dir": "",  # set per run folder in run()
            "interactive": False,
            **_jsonable_section(section),
        }
    return RunPlan(
        params=params,
        params_path=path,
        as_of=when,
        notebook_dir=nb_dir,
        notebooks=names,
        parameters=parameters,
        secrets=secrets,
        inputs=fingerprint_inputs(params, tables, notebooks=names, notebook_dir=nb_dir),
        warnings=[w.render() for w in report.warnings],
        kernel=kernel,
    )


# --------------------------------------------------------------------------------------------
# Executing one notebook (runs in a worker process when jobs > 1)


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in _ANSI.sub("", text).splitlines() if ln.strip()]
    return lines[0] if lines else ""


def _short_error(exc: BaseException) -> str:
    """One line: ``ExceptionName: first line of its message``."""
    ename = getattr(exc, "ename", None)
    if ename:
        evalue = _first_line(str(getattr(exc, "evalue", "") or ""))
        return f"{ename}: {evalue}" if evalue else str(ename)
    return f"{type(exc).__name__}: {_first_line(str(exc))}".strip()


DEFAULT_FIX = (
    "open the executed notebook {nb}.ipynb (for analysts) to see the failing cell; "
    "run `leadnb validate PARAMS` to check the data"
)


def _error_fix(exc: BaseException, name: str) -> str:
    """The ``fix:`` line of a :class:`LeadnbError` message (as a notebook's error shows it),
    else the default advice."""
    text = str(getattr(exc, "evalue", "") or "") or str(exc)
    m = re.search(r"^\s*fix: (.+)$", _ANSI.sub("", text), re.M)
    return m.group(1).strip() if m else DEFAULT_FIX.format(nb=name)


def _error_detail(exc: BaseException) -> str:
    """The full error: a notebook cell's traceback (colour codes removed), else Python's."""
    tb = getattr(exc, "traceback", None)
    if isinstance(tb, list) and tb:
        return _ANSI.sub("", "\n".join(str(t) for t in tb))
    return "".join(traceback.format_exception(exc)).rstrip()


def _remove_tree(path: Path, root: Path) -> None:
    """``shutil.rmtree(path)``, only when ``path`` lies strictly inside ``root`` (resolved)."""
    target, base = path.resolve(), root.resolve()
    if target == base or base not in target.parents:
        raise RuntimeError(f"refusing to delete {target}: it is not inside {base}")
    shutil.rmtree(target)


ENGINE = "leadnb"  # the Papermill engine name leadnb registers (see _register_engine)
# the kernel's own log is kept out of the run's log: it says at every start that local TCP
# (Jupyter's default transport, on 127.0.0.1) is unencrypted, and now and then, as an "error",
# that the interrupt jupyter_client sends before shutting a kernel down found it idle. What
# matters is not lost: a cell's error is in the notebook and a dead kernel fails the notebook.
KERNEL_ARGS = ("--IPKernelApp.log_level=CRITICAL",)


@functools.cache
def _register_engine() -> None:
    """Register Papermill's nbclient engine under :data:`ENGINE`, saving less often.

    Papermill's own engine writes the output notebook (validated JSON, images included) before
    and after every cell: about 60 writes and 0.7 s of CPU per report. The run folder is not
    read until the notebook ends, so this engine writes when the notebook ends (whatever the
    outcome, as Papermill does) and, during a long run, at most as often as Papermill's own
    ``autosave_cell_every`` (30 s), so a stuck cell still shows its progress. Registered once
    per process.
    """
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    class SparseSaves(NotebookExecutionManager):  # type: ignore[misc]
        final = False

        def save(self, **kwargs: Any) -> None:
            waited = (self.now() - self.last_save_time).total_seconds()
            if self.final or waited >= self.autosave_cell_every:
                super().save(**kwargs)

        def notebook_complete(self, **kwargs: Any) -> None:
            self.final = True
            super().notebook_complete(**kwargs)

    class Engine(NBClientEngine):  # type: ignore[misc]
        @classmethod
        def execute_notebook(
            cls,
            nb: Any,
            kernel_name: str,
            output_path: str | None = None,
            progress_bar: bool = True,
            log_output: bool = False,
            autosave_cell_every: int = 30,
            **kwargs: Any,
        ) -> Any:
            manager = SparseSaves(
                nb,
                output_path=output_path,
                progress_bar=progress_bar,
                log_output=log_output,
                autosave_cell_every=autosave_cell_every,
            )
            manager.notebook_start()
            try:
                cls.execute_managed_notebook(manager, kernel_name, log_output=log_output, **kwargs)
            finally:
                manager.cleanup_pbar()
                manager.notebook_complete()  # always written, as with Papermill's engine
            return manager.nb

    papermill_engines.register(ENGINE, Engine)


@functools.cache
def _own_kernel_manager() -> type:
    """A kernel manager whose kernel is ``sys.executable -m ipykernel_launcher`` whatever the
    kernel name (used when the named kernelspec is not installed)."""
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager

    class OwnInterpreterKernelManager(AsyncKernelManager):  # type: ignore[misc]
        @property
        def kernel_spec(self) -> KernelSpec:
            return KernelSpec(
                argv=list(own_kernel_argv()),
                display_name=f"Python ({sys.executable})",
                language="python",
                resource_dir="",
            )

    return OwnInterpreterKernelManager


def _papermill_execute(task: NotebookTask, output: Path) -> None:
    import papermill

    _register_engine()
    extra: dict[str, Any] = {}
    if task.own_kernel:
        extra["kernel_manager_class"] = _own_kernel_manager()
    papermill.execute_notebook(
        str(task.input_path),
        str(output),
        parameters=task.parameters,
        engine_name=ENGINE,
        kernel_name=task.kernel_name,
        cwd=str(task.cwd),
        progress_bar=False,
        log_output=False,
        extra_arguments=list(KERNEL_ARGS),
        **extra,
    )


def execute_task(
    task: NotebookTask, execute: Callable[[NotebookTask, Path], None] | None = None
) -> NotebookResult:
    """Execute, scrub and render one notebook into ``task.out_dir``; never raises for a failure.

    ``execute`` (default: Papermill) is injectable for tests. A dead kernel (nbclient's
    ``DeadKernelError``) is retried once from a clean folder; any other failure is final. A
    failed notebook's HTML is a short failure page (the reason in one line, the fix, links to
    the run log and the executed notebook); its full error goes to ``detail`` (the run log).
    """
    from nbclient.exceptions import DeadKernelError

    if not NOTEBOOK_NAME.fullmatch(task.name):
        return NotebookResult(task.name, "failed", error="not a plain notebook name")
    run = execute or _papermill_execute
    out_dir = task.out_dir
    output = out_dir / f"{task.name}.ipynb"
    t0 = time.perf_counter()
    status, error, attempts = "success", None, 0
    fix = detail = None
    while attempts < task.max_attempts:
        attempts += 1
        if out_dir.exists():
            _remove_tree(out_dir, task.run_dir)
        out_dir.mkdir(parents=True)
        try:
            run(task, output)
            status, error, fix, detail = "success", None, None, None
            break
        except DeadKernelError as exc:
            status, error = "failed", f"the kernel died ({_short_error(exc)})"
            fix = (
                "the kernel ran out of memory or crashed: run the notebook again, or with "
                "fewer rows; the run log has the details"
            )
            detail = _error_detail(exc)
            if attempts < task.max_attempts:
                _progress(f"[retry] {task.name}: the kernel died; running it again")
                continue
            error += f" on each of {attempts} attempts"
        except Exception as exc:  # a notebook error, a timeout, a missing kernel
            status, error = "failed", _short_error(exc)
            fix, detail = _error_fix(exc, task.name), _error_detail(exc)
        break
    seconds = time.perf_counter() - t0

    replacements = []
    if task.final_run_dir is not None:
        replacements.append((str(task.run_dir), str(task.final_run_dir)))
    removed = scrub_folder(out_dir, task.secrets, replacements)
    title = None
    if status == "success" and output.exists():
        try:
            title = _render_html(task, output)
        except Exception as exc:
            status = "failed"
            error = f"HTML rendering failed: {_short_error(exc)}"
            fix, detail = DEFAULT_FIX.format(nb=task.name), _error_detail(exc)
    if status != "success":
        error = mask_text(error or "failed", task.secrets)
        fix = mask_text(fix or DEFAULT_FIX.format(nb=task.name), task.secrets)
        title = _write_failure_page(task, output, error, fix)
    removed += scrub_folder(out_dir, task.secrets)
    tables = sorted(p.name for p in out_dir.glob("*.csv"))
    return NotebookResult(
        name=task.name,
        status=status,
        seconds=round(seconds, 2),
        attempts=attempts,
        error=error,
        title=title,
        tables=tables,
        removed=removed,
        fix=fix,
        detail=mask_text(detail, task.secrets) if detail else None,
    )


def _write_failure_page(task: NotebookTask, ipynb: Path, reason: str, fix: str) -> str:
    """``<nb>/<nb>.html`` for a failed notebook: what failed, why, the fix, where the log is.
    Returns the report's title."""
    from leadnb.report import pages as report

    title = report.metric_label(task.name)
    if ipynb.exists():
        with contextlib.suppress(Exception):
            import nbformat

            title = report.notebook_title(nbformat.read(ipynb, as_version=4), title)
    html = report.render_failure_page(
        notebook=task.name,
        title=title,
        reason=reason,
        fix=fix,
        log_href=f"../{RUN_LOG}",
        ipynb_href=f"{task.name}.ipynb",
    )
    task.out_dir.mkdir(parents=True, exist_ok=True)
    (task.out_dir / f"{task.name}.html").write_text(mask_text(html, task.secrets), encoding="utf-8")
    return title


def _render_html(task: NotebookTask, ipynb: Path) -> str:
    import nbformat

    from leadnb.report import pages as report

    nb = nbformat.read(ipynb, as_version=4)
    title = report.notebook_title(nb, report.metric_label(task.name))
    bar = '<a href="../index.html">&larr; All reports of this run</a>'
    html = report.render_notebook_html(nb, title=title, bar_html=bar)
    (task.out_dir / f"{task.name}.html").write_text(mask_text(html, task.secrets), encoding="utf-8")
    return title


def task_to_json(task: NotebookTask) -> str:
    """Serialise a task for a worker process (sent through a pipe, never written to disk)."""
    d = asdict(task)
    for key in ("input_path", "run_dir", "cwd", "final_run_dir"):
        d[key] = None if d[key] is None else str(d[key])
    return json.dumps(d)


def _descendants() -> list[Any]:
    import psutil

    try:
        return psutil.Process().children(recursive=True)
    except psutil.Error:
        return []


def end_descendants(timeout: float = 3.0) -> None:
    """SIGTERM every process this one started (kernels included: jupyter_client starts them in
    their own session, so a process-group signal would miss them), SIGKILL what is left."""
    import psutil

    procs = _descendants()
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()


def _on_sigterm(signum: int, frame: Any) -> None:
    end_descendants()
    os._exit(128 + signum)


def die_with_parent(parent_pid: int | None) -> None:
    """Make this worker end (with its kernel) when the runner ends, however it ends.

    On Linux the kernel sends SIGTERM when the parent dies (``PR_SET_PDEATHSIG``); SIGTERM ends
    this process's children first. Exits at once when the parent is already gone.
    """
    signal.signal(signal.SIGTERM, _on_sigterm)
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    if parent_pid and os.getppid() != parent_pid:
        os._exit(128 + int(signal.SIGTERM))


def task_from_json(text: str) -> NotebookTask:
    """The inverse of :func:`task_to_json`."""
    d = json.loads(text)
    for key in ("input_path", "run_dir", "cwd", "final_run_dir"):
        d[key] = None if d[key] is None else Path(d[key])
    d["secrets"] = tuple(Secret(**s) for s in d["secrets"])
    return NotebookTask(**d)


def _worker_main(argv: Sequence[str]) -> int:
    """``python -m leadnb.run.runner RESULT.json [PARENT_PID]``: run the task read from stdin, write
    the result."""
    die_with_parent(int(argv[1]) if len(argv) > 1 else None)
    skip_slow_optional_imports()
    task = task_from_json(sys.stdin.read())
    result = execute_task(task)
    Path(argv[0]).write_text(json.dumps(asdict(result)), encoding="utf-8")
    return 0


def _finish_line(result: NotebookResult, done: int, total: int) -> str:
    mark = "ok" if result.status == "success" else result.status.upper()
    tail = f": {result.error}" if result.error else ""
    tries = f", {result.attempts} attempts" if result.attempts > 1 else ""
    return f"[{done}/{total}] {mark:6} {result.name} ({result.seconds:.1f} s{tries}){tail}"


def _start_worker(task: NotebookTask, result_path: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadnb.run.runner", str(result_path), str(os.getpid())],
        stdin=subprocess.PIPE,
        start_new_session=True,  # a terminal's Ctrl-C reaches the runner, which ends them
        stdout=sys.stderr.fileno() if _has_fileno(sys.stderr) else subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdin is not None
    proc.stdin.write(task_to_json(task))
    proc.stdin.close()
    return proc


def _has_fileno(stream: Any) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


def _collect_worker(
    task: NotebookTask, proc: subprocess.Popen, result_path: Path
) -> NotebookResult:
    try:
        data = json.loads(result_path.read_text(encoding="utf-8"))
        result_path.unlink()
        return NotebookResult(**data)
    except (OSError, ValueError, TypeError):
        return NotebookResult(
            task.name, "failed", error=f"the worker process exited with code {proc.returncode}"
        )


def execute_all(
    tasks: Sequence[NotebookTask],
    *,
    jobs: int = 1,
    fail_fast: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, NotebookResult]:
    """Run the tasks; return results by name, in task order.

    With ``jobs`` 1 they run one after the other in this process. Above 1, each notebook runs in
    its own worker process (``python -m leadnb.run.runner``), at most ``jobs`` at a time: every worker
    starts its own kernel, so kernel start-ups share nothing. With ``fail_fast`` the first failure
    stops notebooks that have not started (they are ``skipped``); running ones finish.
    ``progress`` receives each progress line (default: stderr).
    """
    say = progress or _progress
    results: dict[str, NotebookResult] = {}
    total = len(tasks)

    def stop() -> bool:
        return fail_fast and any(r.status == "failed" for r in results.values())

    if jobs <= 1 or total == 1:
        for task in tasks:
            if stop():
                break
            say(f"[start] {task.name}")
            res = execute_task(task)
            results[task.name] = res
            say(_finish_line(res, len(results), total))
    else:
        queue = list(tasks)
        running: list[tuple[NotebookTask, subprocess.Popen, Path]] = []
        try:
            while queue or running:
                while queue and len(running) < jobs and not stop():
                    task = queue.pop(0)
                    result_path = task.run_dir / f".{task.name}.result.json"
                    running.append((task, _start_worker(task, result_path), result_path))
                    say(f"[start] {task.name}")
                if stop():
                    queue.clear()
                for item in [r for r in running if r[1].poll() is not None]:
                    running.remove(item)
                    res = _collect_worker(*item)
                    results[res.name] = res
                    say(_finish_line(res, len(results), total))
                if running:
                    time.sleep(0.1)
        except BaseException:
            for _, proc, _ in running:
                proc.terminate()  # the worker ends its kernel, then itself
            for _, proc, _ in running:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            raise
    skipped = NotebookResult(
        "", "skipped", error="not run: an earlier notebook failed (--fail-fast)"
    )
    return {
        t.name: results.get(t.name) or NotebookResult(**{**asdict(skipped), "name": t.name})
        for t in tasks
    }


# --------------------------------------------------------------------------------------------
# The run folder


def _slug(text: str, limit: int = RUN_NAME_MAX) -> str:
    """``text`` as a file-name piece: runs of other characters become ``-``, at most ``limit``
    characters."""
    s = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")[:limit].strip("-.")
    return s or "run"


def _process_start(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _owner_alive(tmp: Path) -> bool:
    """Whether the process recorded in ``tmp/.owner`` (pid and start time) still runs."""
    try:
        pid_s, started_s = (tmp / OWNER_FILE).read_text(encoding="utf-8").split()[:2]
        pid, started = int(pid_s), float(started_s)
    except (OSError, ValueError):
        return False
    now_started = _process_start(pid)
    return now_started is not None and abs(now_started - started) < 1.0


def remove_stale_tmp(out: Path, progress: Callable[[str], None] | None = None) -> list[str]:
    """Remove ``OUT/.tmp-*`` folders no live run owns (call under the OUT lock).

    A run writes its pid and process start time into ``.tmp-<id>/.owner`` under the same lock
    it creates the folder under, so a folder without a live owner is left from a killed or
    crashed run. Says so in one line; returns the removed names.
    """
    removed = []
    for tmp in sorted(out.glob(".tmp-*")):
        if tmp.is_symlink() or not tmp.is_dir() or _owner_alive(tmp):
            continue
        shutil.rmtree(tmp, ignore_errors=True)
        removed.append(tmp.name)
    if removed:
        (progress or _progress)(
            f"removed {len(removed)} temporary folder(s) left by runs that are no longer "
            f"running: {', '.join(removed)}"
        )
    return removed


def reserve_run_dir(
    out: Path,
    name: str,
    as_of: str,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[str, Path]:
    """Pick a run id and create its temporary folder ``OUT/.tmp-<run_id>`` exclusively.

    The id is ``<YYYYmmdd-HHMMSS>-<name>-<as_of>`` (wall-clock start time, the name slugged to
    at most :data:`RUN_NAME_MAX` characters), with a short random suffix when a run with that id
    already exists or is being written. Under the OUT lock: stale temporary folders are removed
    first, and this process is recorded as the new folder's owner.
    """
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = f"{stamp}-{_slug(name)}-{as_of}"
    out.mkdir(parents=True, exist_ok=True)
    run_id = base
    with _locked(out):
        remove_stale_tmp(out, progress)
        for _ in range(100):
            tmp = out / f".tmp-{run_id}"
            try:
                tmp.mkdir()
            except FileExistsError:
                run_id = f"{base}-{_random.token_hex(2)}"
                continue
            if (out / run_id).exists():
                tmp.rmdir()
                run_id = f"{base}-{_random.token_hex(2)}"
                continue
            try:
                (tmp / OWNER_FILE).write_text(
                    f"{os.getpid()} {_process_start(os.getpid()) or 0}\n", encoding="utf-8"
                )
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            return run_id, tmp
    raise LeadnbError(f"could not reserve a run folder under {out}")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a result depends on (and Python's)."""
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """An exclusive lock on ``OUT/.lock`` (no-op where ``fcntl`` is unavailable)."""
    try:
        import fcntl
    except ImportError:  # Windows: index rewrites are still atomic, just not serialised
        yield
        return
    with (out / ".lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_manifests(out: Path) -> list[dict[str, Any]]:
    """The manifests of every published run under ``out`` (temporary folders excluded)."""
    found = []
    for d in out.iterdir() if out.is_dir() else []:
        if d.name.startswith(".") or d.is_symlink() or not d.is_dir():
            continue
        m = d / "manifest.json"
        if m.is_file():
            try:
                found.append(json.loads(m.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
    return found


def latest_run_id(out: Path) -> str | None:
    """The run ``OUT/latest`` points at (symlink, or the fallback text file), if any."""
    link = out / "latest"
    if link.is_symlink():
        return Path(os.readlink(link)).name
    if link.is_file():
        return link.read_text(encoding="utf-8").strip() or None
    return None


def move_latest(out: Path, run_id: str) -> None:
    """Point ``OUT/latest`` at ``run_id``: a new symlink under a temporary name, then ``os.replace``.

    Where symlinks cannot be made, ``latest`` becomes a text file holding the run id and
    ``latest.html`` redirects to the run's index.
    """
    from leadnb.report import pages as report

    tmp = out / f".latest-{run_id}-{_random.token_hex(3)}"
    try:
        os.symlink(run_id, tmp, target_is_directory=True)
    except (OSError, NotImplementedError):
        report.write_text_atomic(out / "latest", run_id + "\n")
    else:
        try:
            os.replace(tmp, out / "latest")
        except OSError:
            tmp.unlink(missing_ok=True)
            raise
    report.write_text_atomic(out / "latest.html", report.render_latest_redirect(run_id))


def _recency(manifest: Mapping[str, Any]) -> tuple[str, str]:
    """How ``latest`` orders successful runs: by analysis date, then by start time (a backfill
    with an older ``--as-of`` never takes ``latest`` away from a newer analysis date)."""
    return (str(manifest.get("as_of", "")), str(manifest.get("started_at", "")))


def _publish_experiment_log(plan: RunPlan, final_dir: Path) -> bool:
    """Append the A/B readout of a published run to the cumulative experiment log (call under
    the OUT lock, after the rename). Returns whether there was a readout to append."""
    rows_csv = final_dir / "ab_testing" / "experiment_log_rows.csv"
    if not rows_csv.is_file():
        return False
    from leadnb.experiments import registry as experiments

    experiments.append_log(
        experiments.log_path(plan.params.experiments, final_dir / "ab_testing"),
        experiments.read_log_rows(rows_csv),
    )
    return True


def _publish_indexes(
    out: Path,
    manifest: Mapping[str, Any],
    move: bool,
    before: Callable[[], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> bool:
    """Under the lock: run ``before`` (the experiment log), move latest (if ``move`` and no more
    recent run holds it), rewrite ``OUT/index.html``. Returns whether latest moved."""
    from leadnb.report import pages as report

    say = progress or _progress
    moved = False
    with _locked(out):
        if before is not None:
            before()
        if move:
            current = latest_run_id(out)
            runs = {m.get("run_id"): m for m in read_manifests(out)}
            cur = runs.get(current) if current else None
            if cur is None or _recency(cur) <= _recency(manifest):
                try:
                    move_latest(out, str(manifest["run_id"]))
                    moved = True
                except OSError as exc:  # e.g. someone made OUT/latest a real folder
                    say(f"warning: could not point {out / 'latest'} at this run: {exc}")
        html = report.render_outputs_index(read_manifests(out), latest=latest_run_id(out))
        report.write_text_atomic(out / "index.html", html)
    return moved


def _read_metrics(folder: Path, name: str = "metrics.json") -> dict[str, Any]:
    path = folder / name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class RunLog:
    """Progress lines: printed on stderr and kept in ``<run>/run.log``, secrets masked."""

    def __init__(self, secrets: Sequence[Secret] = ()) -> None:
        self.secrets = tuple(secrets)
        self.lines: list[str] = []
        self.path: Path | None = None
        self.strict = True  # a failed write raises (while the run is being written)

    def __call__(self, line: str) -> None:
        line = mask_text(line, self.secrets)
        _progress(line)
        self.write(line)

    def write(self, text: str) -> None:
        """Add ``text`` (masked) to the log file only."""
        text = mask_text(text, self.secrets)
        self.lines.append(text)
        if self.path is not None:
            try:
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(text + "\n")
            except OSError:
                if self.strict:
                    raise

    def attach(self, path: Path) -> None:
        """Write the lines so far to ``path`` and append later ones there."""
        path.write_text("".join(line + "\n" for line in self.lines), encoding="utf-8")
        self.path = path


def _manifest_entry(res: NotebookResult, folder: Path) -> dict[str, Any]:
    name = res.name
    skip = ("tables", "removed", "title", "fix", "detail")
    entry = {k: v for k, v in asdict(res).items() if k not in skip}
    entry["title"] = res.title
    entry["folder"] = name
    entry["ipynb"] = f"{name}/{name}.ipynb" if (folder / f"{name}.ipynb").exists() else None
    entry["html"] = f"{name}/{name}.html" if (folder / f"{name}.html").exists() else None
    entry["tables"] = res.tables
    if res.status != "success":
        entry["fix"] = res.fix or DEFAULT_FIX.format(nb=name)
        entry["log"] = RUN_LOG
    if res.removed:
        entry["removed_for_secrets"] = res.removed
    return entry


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def run(
    params_path: str | Path,
    *,
    notebooks: Sequence[str] | None = None,
    out: str | Path = "outputs",
    as_of: str | None = None,
    jobs: int = 1,
    fail_fast: bool = False,
    notebook_dir: str | Path | None = None,
    kernel_name: str = KERNEL_NAME,
    now: dt.datetime | None = None,
) -> RunResult:
    """Validate, execute every notebook, and publish the run folder (CONTRACT.md section 4).

    Raises :class:`ParamsError`/:class:`DataError` (exit 2) before writing anything, and
    ``OSError`` when OUT cannot be made or written (the CLI says so in one line, exit 2). A
    write that fails later (disk full, permissions) removes the temporary folder, leaves the
    previous runs and ``latest`` as they were and raises :class:`LeadnbError` (exit 1).
    Otherwise returns a :class:`RunResult` whose ``exit_code`` is 0 when every notebook
    succeeded, else 1. ``OUT/latest`` moves only for a successful run of all four notebooks.
    """
    from leadnb.data import params as config

    plan = plan_run(
        params_path,
        notebooks=notebooks,
        as_of=as_of,
        notebook_dir=notebook_dir,
        kernel_name=kernel_name,
    )
    log = RunLog(plan.secrets)
    for w in plan.warnings:
        log(w)
    out_root = Path(out).resolve()
    if out_root.exists() and not out_root.is_dir():
        raise ParamsError(f"--out {out_root} exists and is not a folder: pass a folder path")
    started = now or dt.datetime.now()
    run_id, tmp_dir = reserve_run_dir(out_root, plan.params.run.name, plan.as_of, started, log)
    final_dir = out_root / run_id
    try:
        log.attach(tmp_dir / RUN_LOG)
        results, manifest = _execute_into(
            plan, run_id, tmp_dir, final_dir, jobs, fail_fast, log, started
        )
        (tmp_dir / OWNER_FILE).unlink(missing_ok=True)
        os.rename(tmp_dir, final_dir)
    except BaseException as exc:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        if isinstance(exc, OSError):
            raise LeadnbError(
                mask_text(
                    f"run {run_id} not published: {exc.strerror or exc} "
                    f"({exc.filename or out_root}); earlier runs and latest are unchanged",
                    plan.secrets,
                )
            ) from None
        raise
    log.path, log.strict = final_dir / RUN_LOG, False  # published: a later line is best effort
    status = manifest["status"]
    complete = set(config.NOTEBOOKS) <= set(plan.notebooks)
    exit_code = 0 if status == "success" else 1
    log_failed: list[str] = []

    def experiment_log() -> None:
        try:
            _publish_experiment_log(plan, final_dir)
        except Exception as exc:  # the run is published; say what is missing, exit 1
            log_failed.append(_short_error(exc))
            log(
                f"warning: the experiment log was not updated: {_short_error(exc)}; the run's "
                "rows are in ab_testing/experiment_log_rows.csv"
            )

    try:
        moved = _publish_indexes(
            out_root,
            manifest,
            move=status == "success" and complete,
            before=experiment_log,
            progress=log,
        )
        if log_failed:
            exit_code = 1
    except OSError as exc:
        log(
            f"warning: run {run_id} is published but OUT/index.html or latest "
            f"could not be written: {exc}"
        )
        moved, exit_code = False, 1
    failed = [r.name for r in results.values() if r.status != "success"]
    if failed:
        log(
            f"FAILED: {', '.join(failed)} (outputs kept; latest not moved; see {final_dir / RUN_LOG})"
        )
    elif not complete:
        log(
            f"latest not moved: a run of {', '.join(plan.notebooks)} is not the complete report set"
        )
    elif not moved and exit_code == 0:
        log(f"latest not moved: it shows {latest_run_id(out_root)}, of a later analysis date")
    return RunResult(
        run_id=run_id,
        run_dir=final_dir,
        status=status,
        exit_code=exit_code,
        index_path=final_dir / "index.html",
        notebooks=list(results.values()),
        latest_moved=moved,
    )


def _execute_into(
    plan: RunPlan,
    run_id: str,
    tmp_dir: Path,
    final_dir: Path,
    jobs: int,
    fail_fast: bool,
    log: RunLog,
    started: dt.datetime,
) -> tuple[dict[str, NotebookResult], dict[str, Any]]:
    """Execute the plan's notebooks into ``tmp_dir``; write the manifest, index and run log."""
    from leadnb.report import pages as report

    kernel = plan.kernel or resolve_kernel(KERNEL_NAME)
    log(f"leadnb run {run_id}: {len(plan.notebooks)} notebook(s), as of {plan.as_of}, jobs {jobs}")
    log(f"kernel: {kernel.describe()}")
    tasks = [
        NotebookTask(
            name=name,
            input_path=plan.notebook_dir / f"{name}.ipynb",
            run_dir=tmp_dir,
            parameters={**plan.parameters[name], "out_dir": str(tmp_dir / name)},
            cwd=plan.notebook_dir,
            kernel_name=kernel.name,
            secrets=plan.secrets,
            final_run_dir=final_dir,
            own_kernel=kernel.own_interpreter,
        )
        for name in plan.notebooks
    ]
    results = execute_all(tasks, jobs=max(1, jobs), fail_fast=fail_fast, progress=log)
    for res in results.values():
        if res.status == "failed":
            log.write(f"\n=== {res.name} failed: {res.error}\nfix: {res.fix}\n")
            if res.detail:
                log.write(res.detail + "\n")
    status = "success" if all(r.status == "success" for r in results.values()) else "failed"
    finished = dt.datetime.now()
    manifest = {
        "run_id": run_id,
        "name": plan.params.run.name,
        "as_of": plan.as_of,
        "status": status,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": finished.isoformat(timespec="seconds"),
        "seconds": round((finished - started).total_seconds(), 2),
        "params_file": str(plan.params_path),
        "params": mask_value(plan.params.raw, plan.secrets),
        "inputs": mask_value(plan.inputs, plan.secrets),
        "packages": package_versions(),
        "kernel": OWN_KERNEL if kernel.own_interpreter else kernel.name,
        "kernel_argv": list(kernel.argv),
        "notebook_dir": str(plan.notebook_dir),
        "options": {"notebooks": plan.notebooks, "jobs": jobs, "fail_fast": fail_fast},
        "notebooks": [_manifest_entry(r, tmp_dir / r.name) for r in results.values()],
        "log": RUN_LOG,
    }
    manifest = mask_value(manifest, plan.secrets)
    metrics = {name: _read_metrics(tmp_dir / name) for name in results}
    kinds = {name: _read_metrics(tmp_dir / name, "metric_kinds.json") for name in results}
    titles = {name: r.title or "" for name, r in results.items()}
    tables = {name: r.tables for name, r in results.items()}
    _write_json(tmp_dir / "manifest.json", manifest)
    (tmp_dir / "index.html").write_text(
        mask_text(report.render_run_index(manifest, metrics, titles, tables, kinds), plan.secrets),
        encoding="utf-8",
    )
    return results, manifest


__all__ = [
    "KERNEL_NAME",
    "KernelChoice",
    "RunLog",
    "NotebookResult",
    "NotebookTask",
    "RunPlan",
    "RunResult",
    "Secret",
    "check_notebook_names",
    "check_notebook_parameters",
    "collect_secrets",
    "declared_parameters",
    "default_notebook_dir",
    "die_with_parent",
    "end_descendants",
    "environ_secrets",
    "execute_all",
    "execute_task",
    "fingerprint_inputs",
    "latest_run_id",
    "mask_text",
    "mask_value",
    "move_latest",
    "package_versions",
    "plan_run",
    "read_manifests",
    "remove_stale_tmp",
    "reserve_run_dir",
    "resolve_kernel",
    "run",
    "scrub_folder",
    "url_secret_forms",
]


if __name__ == "__main__":
    raise SystemExit(_worker_main(sys.argv[1:]))
