"""What each notebook declares: its name, its ``parameters`` cell, and whether a params
section fits it.

Design. A notebook's parameters cell is the contract between a params file's notebook section
and the notebook (``cohort_conversion: {max_age_months: 12}``): Papermill only warns about an
unknown parameter, so ``leadnb validate`` and ``leadnb run`` check names and simple annotated
types here first. This sits in the data layer (beside :mod:`leadnb.data.param_checks`, which
checks the values) so that validating a params file needs nothing from :mod:`leadnb.run`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from leadnb.errors import ParamsError

NOTEBOOK_NAME = re.compile(r"[A-Za-z0-9_]+")
STANDARD_PARAMETERS = ("params_path", "as_of", "out_dir", "interactive")
"""What ``leadnb run`` passes to every notebook; a params section may not set them."""


def default_notebook_dir() -> Path:
    """The checkout's ``notebooks/`` folder, next to the ``leadnb`` package.

    Examples
    --------
    >>> default_notebook_dir().name
    'notebooks'
    """
    import leadnb

    return Path(leadnb.__file__).resolve().parents[1] / "notebooks"


def type_fits(value: Any, annotation: str) -> bool:
    """Whether a YAML value fits a parameter annotation.

    Parameters
    ----------
    value : Any
        A value of a params file section.
    annotation : str
        The annotation Papermill's inspection reports (``int``, ``list[str]``,
        ``str | None``, ``Optional[str]``...).

    Returns
    -------
    bool
        False only when the annotation is one of ``int float str bool list tuple dict None``
        (or a union of them) and the value fits none of them; an empty annotation or one not
        modelled here accepts anything.

    Examples
    --------
    >>> type_fits(3, "int"), type_fits(True, "int"), type_fits(None, "Optional[str]")
    (True, False, True)
    >>> type_fits("a", "list[str]"), type_fits("anything", "pd.Timestamp")
    (False, True)
    """
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
    """The parameters a notebook declares in its ``parameters`` cell (Papermill's inspection).

    Parameters
    ----------
    notebook : Path
        An ``.ipynb`` file.

    Returns
    -------
    dict
        ``{name: {"name", "inferred_type_name", "default", "help"}}`` in declaration order, as
        :func:`papermill.inspect_notebook` returns them.

    Raises
    ------
    ParamsError
        When the notebook has no cell tagged ``parameters``.
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

    Parameters
    ----------
    notebook : Path
        The ``.ipynb`` file.
    section : mapping
        The notebook's section of the params file.
    params_file : str, optional
        Named in the error.

    Returns
    -------
    dict
        The declared parameters (:func:`declared_parameters`).

    Raises
    ------
    ParamsError
        When the notebook does not declare the four standard parameters, a key is one of them
        (the runner sets those), a key is not declared (with the closest declared name), or a
        value does not fit its annotation (:func:`type_fits`).
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
        if not type_fits(value, annotation):
            raise ParamsError(
                f"{name}.{key} must be {annotation}, got {value!r} ({type(value).__name__})",
                file=params_file,
                fix=f"notebook {name} declares {key}: {annotation} = {declared[key].get('default')}",
            )
    return declared


def check_notebook_names(names: Sequence[str], nb_dir: Path) -> list[str]:
    """The requested notebook names, checked: plain names of ``.ipynb`` files in ``nb_dir``.

    Parameters
    ----------
    names : sequence of str
        As given (``--notebooks a,b``); a trailing ``.ipynb`` is dropped, blanks and repeats
        are skipped.
    nb_dir : Path
        The notebook folder.

    Returns
    -------
    list of str
        The names in the order given.

    Raises
    ------
    ParamsError
        One line (exit 2) when a name does not match ``[A-Za-z0-9_]+`` (a path, ``..``, a
        space), its file is not there, or no name is left.
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


__all__ = [
    "NOTEBOOK_NAME",
    "STANDARD_PARAMETERS",
    "check_notebook_names",
    "check_notebook_parameters",
    "declared_parameters",
    "default_notebook_dir",
    "type_fits",
]
