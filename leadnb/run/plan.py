"""Planning a run: params and options become a checked :class:`RunPlan`, before anything runs.

Design. Everything that can be wrong with a run is found here, and nothing is written while
planning, not even the output folder: the notebook names (plain names of files in the notebook
folder), the params file and every configured table
(:func:`leadnb.data.validation.validate_params_file`, the same check as ``leadnb validate``),
the analysis date, the kernel, and each notebook's own params section against the parameters
its ``parameters`` cell declares (names and simple annotated types). Papermill only warns about
an unknown parameter; here it is a :class:`~leadnb.errors.ParamsError` (exit 2). The plan also
fingerprints every input that changes results (path, rows, sha256) for the manifest, and
collects the secrets the run must mask. Notebooks receive only ``params_path``, ``as_of``,
``out_dir``, ``interactive`` and their own section, never a secret value.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leadnb.data.notebook_parameters import (
    check_notebook_names,
    check_notebook_parameters,
    declared_parameters,
    default_notebook_dir,
)
from leadnb.errors import DataError, LeadnbError, ParamsError
from leadnb.masking import Secret, collect_secrets, mask_value
from leadnb.run import kernels
from leadnb.run.kernels import KERNEL_NAME, KernelChoice


@dataclass
class RunPlan:
    """A checked run: what will execute, with which parameters. Nothing written yet.

    ``parameters`` maps each notebook to what Papermill injects (``out_dir`` is filled in per
    run folder); ``inputs`` are the fingerprints of :func:`fingerprint_inputs`.
    """

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
    #: the tables validated and cleaned by the plan, handed to the notebooks once
    #: (:mod:`leadnb.data.cache`); the runner empties it once written
    tables: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: the tables' own data notes (:attr:`leadnb.errors.Report.table_issues`)
    table_issues: list[Any] = field(default_factory=list, repr=False, compare=False)
    #: what the scoring rules' check found (:attr:`leadnb.errors.Report.rule_issues`)
    rule_issues: list[Any] | None = field(default=None, repr=False, compare=False)
    #: the stage history's checks (:attr:`leadnb.errors.Report.stage_quality`)
    stage_quality: Any = field(default=None, repr=False, compare=False)


def _jsonable_section(section: Mapping[str, Any]) -> dict[str, Any]:
    """YAML dates become ISO strings so papermill can write them as literals."""
    return {
        k: mask_value(v, ()) if isinstance(v, dt.date | list | dict) else v
        for k, v in section.items()
    }


# --------------------------------------------------------------------------------------------
# Fingerprints of the inputs


def sha256_file(path: Path) -> str:
    """The sha256 hex digest of a file's bytes (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _file_print(
    kind: str, path: Path | str, rows: int | None = None, digests: Mapping[str, str] | None = None
) -> dict[str, Any]:
    path = Path(path)
    digest = (digests or {}).get(str(path)) or (sha256_file(path) if path.is_file() else None)
    return {"table": kind, "path": str(path), "rows": rows, "sha256": digest}


def _input_files(
    params: Any, notebooks: Sequence[str] = (), notebook_dir: Path | None = None
) -> list[Path]:
    """The files :func:`fingerprint_inputs` hashes, in its order."""
    files = [] if params.path is None else [Path(params.path)]
    files += [Path(src.path) for src in params.data.values() if src.path is not None]
    if params.scoring.file:
        files.append(Path(params.scoring.file))
    registry = params.experiments.registry
    if registry is not None:
        files += sorted([*Path(registry).glob("*.yaml"), *Path(registry).glob("*.yml")])
    if "scoring_calibration" in notebooks:
        abm = _abm_accounts_file(params, notebook_dir)
        if abm is not None:
            files.append(abm)
    return files


def hash_files(paths: Sequence[Path]) -> dict[str, str]:
    """``{str(path): sha256}`` of the paths that are files (the others are left out)."""
    return {str(p): sha256_file(p) for p in paths if p.is_file()}


def _hash_inputs(params_path: Path, notebooks: Sequence[str], notebook_dir: Path) -> dict[str, str]:
    """:func:`hash_files` of the inputs the params file names; empty when it cannot be read
    (the checks say why; :func:`fingerprint_inputs` hashes what it is not given)."""
    from leadnb.data import params as config

    try:
        params = config.load_params(params_path)
    except LeadnbError:
        return {}
    return hash_files(_input_files(params, notebooks, notebook_dir))


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
    digests: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Fingerprints of every input that changes results, for the manifest.

    Parameters
    ----------
    params : leadnb.data.params.Params
        The loaded params file.
    tables : mapping of str to DataFrame
        The loaded tables (for row counts and the hash of a SQL table).
    notebooks : sequence of str, optional
        The notebooks that will run (the ABM list counts only with ``scoring_calibration``).
    notebook_dir : Path, optional
        Where the scoring notebook's declared default ABM list is looked up.
    digests : mapping of str to str, optional
        Files hashed already (:func:`hash_files`, keyed by path); the others are hashed here.

    Returns
    -------
    list of dict
        One dict per input with keys ``table`` (``params``, a table name, ``scoring_rules``,
        ``registration``, ``abm_accounts``), ``path``, ``rows`` (``None`` for a file that is not
        a table) and ``sha256``. Files are hashed byte for byte; a SQL table is hashed from its
        loaded rows (pandas' row hashes), so the fingerprint changes when the query result does.
    """
    known = digests or {}
    out: list[dict[str, Any]] = []
    if params.path is not None:
        out.append(_file_print("params", params.path, digests=known))
    for table, src in params.data.items():
        df = tables.get(table)
        rows = None if df is None else len(df)
        if src.path is not None:
            out.append(_file_print(table, src.path, rows, known))
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
        out.append(_file_print("scoring_rules", rules, digests=known))
    registry = params.experiments.registry
    if registry is not None:
        for f in sorted([*Path(registry).glob("*.yaml"), *Path(registry).glob("*.yml")]):
            out.append(_file_print("registration", f, digests=known))
    if "scoring_calibration" in notebooks:
        abm = _abm_accounts_file(params, notebook_dir)
        if abm is not None:
            out.append(_file_print("abm_accounts", abm, digests=known))
    return out


# --------------------------------------------------------------------------------------------
# The plan


def plan_run(
    params_path: str | Path,
    *,
    notebooks: Sequence[str] | None = None,
    as_of: str | None = None,
    notebook_dir: str | Path | None = None,
    kernel_name: str = KERNEL_NAME,
) -> RunPlan:
    """Check the notebook names, the params, the tables and the notebooks' parameters.

    Parameters
    ----------
    params_path : str or Path
        The params YAML file.
    notebooks : sequence of str, optional
        Notebook names (default: the four reports).
    as_of : str, optional
        ``YYYY-MM-DD`` analysis date (default: ``run.as_of`` of the params file).
    notebook_dir : str or Path, optional
        Folder of the ``.ipynb`` files (default: :func:`default_notebook_dir`).
    kernel_name : str, default "leadnb"
        The Jupyter kernel (:func:`leadnb.run.kernels.resolve_kernel`).

    Returns
    -------
    RunPlan
        Nothing is written.

    Raises
    ------
    ParamsError, DataError
        Exit code 2, on the first kind of problem found; data problems are reported together.
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
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="leadnb-hash") as ex:
        # the inputs are hashed while they are read and checked (hashlib and the reads release
        # the GIL): a third of a second at a million leads, no longer after the checks
        hashed = ex.submit(_hash_inputs, path, names, nb_dir)
        report, params, tables = validate.validate_params_file(
            path, as_of=as_of or None, notebooks=names, notebook_dir=nb_dir
        )
        digests = hashed.result()
    if params is None:
        raise ParamsError(issues=report.errors)
    if report.errors:
        raise DataError(issues=report.errors)
    when = params.as_of(as_of or None).strftime("%Y-%m-%d")

    kernel = kernels.resolve_kernel(kernel_name)
    secrets = collect_secrets(src.url_env for src in params.data.values() if src.url_env)
    parameters: dict[str, dict[str, Any]] = {}
    for name in names:
        section = params.notebook(name)
        check_notebook_parameters(nb_dir / f"{name}.ipynb", section, params_file=str(path))
        parameters[name] = {
            "params_path": str(path),
            "as_of": when,
            "out_dir": "",  # set per run folder when the run executes
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
        inputs=fingerprint_inputs(
            params, tables, notebooks=names, notebook_dir=nb_dir, digests=digests
        ),
        warnings=[w.render() for w in report.warnings],
        kernel=kernel,
        tables=tables,
        table_issues=report.table_issues,
        rule_issues=report.rule_issues,
        stage_quality=report.stage_quality,
    )


__all__ = [
    "RunPlan",
    "fingerprint_inputs",
    "plan_run",
    "sha256_file",
]
