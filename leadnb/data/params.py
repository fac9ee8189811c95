"""The params file: one YAML document, checked strictly, turned into typed settings.

Design. This module owns the top level (``run``, ``data`` and the key check) and delegates each
analysis section to the package that uses it; :func:`_section_parser` is the one place that
names them (``scoring`` -> :class:`leadnb.scoring.ScoringConfig`, ``funnel`` ->
:class:`leadnb.funnel.stages.FunnelConfig`, ``roi`` -> :class:`leadnb.roi.RoiConfig`,
``experiments`` -> :class:`leadnb.experiments.ExperimentsConfig`). Each of those exposes
``from_dict(d, base_dir)`` and uses :func:`check_keys` so an unknown or mistyped key is an error
that names the section and the key, never a warning. The per-notebook sections
(``scoring_calibration``, ``cohort_conversion``, ``nurture_roi``, ``ab_testing``) are kept as
plain dicts: the runner checks them against the parameters each notebook declares.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from leadnb.errors import Issue, ParamsError

if TYPE_CHECKING:
    import pandas as pd  # imported by parse_date: the run's workers import NOTEBOOKS only

    from leadnb.experiments import ExperimentsConfig
    from leadnb.funnel.stages import FunnelConfig
    from leadnb.roi import RoiConfig
    from leadnb.scoring import ScoringConfig

TABLES = ("leads", "events", "stages", "costs", "assignments", "orders")
NOTEBOOKS = ("scoring_calibration", "cohort_conversion", "nurture_roi", "ab_testing")
# the analysis sections, each parsed by the class that _section_parser names
SECTIONS = ("scoring", "funnel", "roi", "experiments")
TOP_LEVEL = ("run", "data", *SECTIONS, *NOTEBOOKS)
MAX_RUN_NAME = 200  # characters of run.name (the runner shortens what goes into folder names)
# YAML anchors and aliases: a file may reuse a block a few times, never expand into a bomb
MAX_YAML_ALIASES = 100  # alias nodes (*name) in one file
MAX_YAML_NODES = 100_000  # nodes of the document with every alias expanded


def check_keys(
    d: Any,
    allowed: Iterable[str],
    where: str,
    *,
    file: str | None = None,
    required: Iterable[str] = (),
) -> dict[str, Any]:
    """Check that ``d`` is a mapping whose keys are all in ``allowed`` and has every ``required``.

    Parameters
    ----------
    d : object
        A params file's section; ``None`` reads as empty.
    allowed : iterable of str
        The keys the section may have.
    where : str
        How errors name the section, e.g. ``"funnel"`` or ``"scoring.rules[3] 'pricing page'"``.
    file : str, optional
        The params file, for the error.
    required : iterable of str
        Keys that must be there.

    Returns
    -------
    dict
        ``d`` as a dict.

    Raises
    ------
    ParamsError
        ``d`` is not a mapping, has a key not in ``allowed``, or lacks a ``required`` one; the
        message names ``where`` and the keys, the fix lists the allowed keys.

    Examples
    --------
    >>> check_keys({"stages": ["lead", "sql"]}, ("stages", "aliases"), "funnel")
    {'stages': ['lead', 'sql']}
    >>> try:
    ...     check_keys({"stagse": []}, ("stages", "aliases"), "funnel")
    ... except ParamsError as err:
    ...     print(err.issues[0].message, "|", err.issues[0].fix)
    unknown key(s) in funnel: stagse | allowed keys in funnel are: stages, aliases
    """
    if d is None:
        d = {}
    if not isinstance(d, Mapping):
        raise ParamsError(
            f"{where} must be a mapping of key: value, got {type(d).__name__}",
            file=file,
            fix=f"write {where} as indented 'key: value' lines",
        )
    allowed = list(allowed)
    unknown = [k for k in d if k not in allowed]
    if unknown:
        raise ParamsError(
            f"unknown key(s) in {where}: {', '.join(map(str, unknown))}",
            file=file,
            fix=f"allowed keys in {where} are: {', '.join(allowed)}",
        )
    missing = [k for k in required if k not in d]
    if missing:
        raise ParamsError(
            f"missing key(s) in {where}: {', '.join(missing)}",
            file=file,
            fix=f"add {', '.join(missing)} to {where}",
        )
    return dict(d)


def expect_type(
    value: Any, types: type | tuple[type, ...], where: str, *, file: str | None = None
) -> Any:
    """Return ``value`` if it is an instance of ``types``; a bool is not an int here.

    Raises
    ------
    ParamsError
        Naming ``where``, the value and the expected type.

    Examples
    --------
    >>> expect_type(30, int, "funnel.new_lead_days")
    30
    >>> try:
    ...     expect_type(True, int, "funnel.new_lead_days")
    ... except ParamsError as err:
    ...     print(err.issues[0].message)
    funnel.new_lead_days must be int, got True (bool)
    """
    tt = types if isinstance(types, tuple) else (types,)
    ok = isinstance(value, tt) and not (isinstance(value, bool) and bool not in tt)
    if not ok:
        names = " or ".join(t.__name__ for t in tt)
        raise ParamsError(
            f"{where} must be {names}, got {value!r} ({type(value).__name__})",
            file=file,
            fix=f"set {where} to a {names}",
        )
    return value


def parse_date(value: Any, where: str, *, file: str | None = None) -> pd.Timestamp:
    """Parse a date from the params file (YYYY-MM-DD text, or a date YAML already parsed).

    Returns
    -------
    Timestamp
        Midnight of that day (a datetime keeps only its day).

    Raises
    ------
    ParamsError
        Naming ``where`` and the value, for anything else.

    Examples
    --------
    >>> parse_date("2026-06-30", "run.as_of")
    Timestamp('2026-06-30 00:00:00')
    >>> try:
    ...     parse_date("30/06/2026", "run.as_of")
    ... except ParamsError as err:
    ...     print(err.issues[0].message)
    run.as_of must be a date written YYYY-MM-DD, got '30/06/2026'
    """
    import pandas as pd

    if isinstance(value, dt.date):  # a datetime, or a pandas Timestamp, is a date too
        return pd.Timestamp(value).normalize()
    if isinstance(value, str):
        try:
            return pd.Timestamp(dt.date.fromisoformat(value.strip()))
        except ValueError:
            pass
    raise ParamsError(
        f"{where} must be a date written YYYY-MM-DD, got {value!r}",
        file=file,
        fix=f'write {where} as e.g. "2026-06-30"',
    )


@dataclass(frozen=True)
class RunConfig:
    """The ``run`` section: the run's name, its analysis date and where per-lead work runs."""

    name: str = "leadnb"
    as_of: pd.Timestamp | None = None
    # where per-lead work (scoring, stage dates) runs: unset = this process, "local" = a Dask
    # LocalCluster, or a scheduler address such as tcp://10.0.0.5:8786 (see leadnb.data.distributed)
    dask_scheduler: str | None = None
    # the ISO 4217 code of the data's money (spend, deal values): reports show amounts with it
    currency: str | None = None

    @classmethod
    def from_dict(cls, d: Any, base_dir: Path, *, file: str | None = None) -> RunConfig:
        """Parse the ``run`` section (``base_dir`` is unused: the section names no file)."""
        d = check_keys(d, ("name", "as_of", "dask_scheduler", "currency"), "run", file=file)
        name = expect_type(d.get("name", "leadnb"), str, "run.name", file=file)
        if len(name) > MAX_RUN_NAME:
            raise ParamsError(
                f"run.name is {len(name)} characters long; at most {MAX_RUN_NAME} are allowed",
                file=file,
                fix="shorten run.name to a few words, e.g. name: weekly-leads (it titles the "
                "index page and names the run folder)",
            )
        as_of = d.get("as_of")
        scheduler = d.get("dask_scheduler")
        if scheduler is not None:
            scheduler = expect_type(scheduler, str, "run.dask_scheduler", file=file).strip()
            if scheduler and scheduler != "local" and "://" not in scheduler:
                raise ParamsError(
                    f"run.dask_scheduler must be 'local' or a scheduler address, got {scheduler!r}",
                    file=file,
                    fix="write the address with its protocol, e.g. tcp://10.0.0.5:8786",
                )
        currency = d.get("currency")
        if currency is not None:
            currency = expect_type(currency, str, "run.currency", file=file).strip().upper()
            if not re.fullmatch(r"[A-Z]{3}", currency):
                raise ParamsError(
                    f"run.currency must be a three-letter ISO 4217 code, got {d['currency']!r}",
                    file=file,
                    fix="write the code of the data's money, e.g. currency: EUR (or USD, GBP, "
                    "CNY); leave it out to show amounts without a currency",
                )
        return cls(
            name=name,
            as_of=None if as_of in (None, "") else parse_date(as_of, "run.as_of", file=file),
            dask_scheduler=scheduler or None,
            currency=currency or None,
        )


TABLE_KEYS = (
    "source",  # a path (.csv, .tsv, .txt, .parquet, .xlsx, .xls) relative to the params file
    "sql",  # a SQL query, instead of source
    "url_env",  # with sql: the environment variable holding the SQLAlchemy URL
    "columns",  # mapping: source column name -> canonical name
    "placeholders",  # values read as missing
    "date_format",  # strftime format for every date column; default ISO 8601
    "dayfirst",  # for ambiguous non-ISO dates
    "sep",  # CSV separator; default detected
    "encoding",  # file encoding; default utf-8 (others detected and reported)
    "sheet",  # Excel sheet name or index
    "stage_map",  # stages: source stage name -> canonical stage (merged with funnel.aliases)
)


@dataclass(frozen=True)
class TableSource:
    """Where one input table comes from and how its columns map onto the canonical names."""

    table: str
    path: Path | None = None
    sql: str | None = None
    url_env: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    placeholders: tuple[str, ...] = ()
    date_format: str | None = None
    dayfirst: bool = False
    sep: str | None = None
    encoding: str | None = None
    sheet: str | int | None = None
    stage_map: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How errors name this source: the file path, or ``sql (env VAR)``."""
        if self.path is not None:
            return str(self.path)
        return f"SQL query via ${self.url_env}"

    @classmethod
    def from_dict(
        cls, table: str, d: Any, base_dir: Path, *, file: str | None = None
    ) -> TableSource:
        """Parse ``data.<table>``: a mapping of :data:`TABLE_KEYS`, or just the source path.

        Relative paths are resolved against ``base_dir`` (the params file's folder).

        Examples
        --------
        >>> src = TableSource.from_dict("costs", {"source": "costs.csv", "sep": ";"}, Path("/d"))
        >>> src.path, src.sep
        (PosixPath('/d/costs.csv'), ';')
        """
        where = f"data.{table}"
        if isinstance(d, str):
            d = {"source": d}
        d = check_keys(d, TABLE_KEYS, where, file=file)
        if ("source" in d) == ("sql" in d):
            raise ParamsError(
                f"{where} needs exactly one of 'source' (a file) or 'sql' (a query)",
                file=file,
                fix=f"set {where}.source: path/to/{table}.csv, or {where}.sql with {where}.url_env",
            )
        if "sql" in d and not d.get("url_env"):
            raise ParamsError(
                f"{where}.sql needs {where}.url_env: the name of the environment variable that holds "
                "the database URL",
                file=file,
                fix=f"add {where}.url_env: LEADNB_DB_URL and export LEADNB_DB_URL=postgresql+psycopg://...",
            )
        columns = check_keys(
            d.get("columns"), d.get("columns") or {}, f"{where}.columns", file=file
        )
        for k, v in columns.items():
            expect_type(v, str, f"{where}.columns[{k!r}]", file=file)
        stage_map = check_keys(
            d.get("stage_map"), d.get("stage_map") or {}, f"{where}.stage_map", file=file
        )
        for k, v in stage_map.items():
            expect_type(v, str, f"{where}.stage_map[{k!r}]", file=file)
        placeholders = d.get("placeholders") or []
        expect_type(placeholders, list, f"{where}.placeholders", file=file)
        for key in ("date_format", "sep", "encoding", "url_env"):
            if d.get(key) is not None:
                expect_type(d[key], str, f"{where}.{key}", file=file)
        if d.get("url_env") is not None and not d["url_env"].isidentifier():
            raise ParamsError(
                f"{where}.url_env must be the NAME of an environment variable, got a value that "
                "is not a variable name",
                file=file,
                fix=f"set {where}.url_env: LEADNB_DB_URL and export LEADNB_DB_URL=<the URL>; "
                "never put the URL itself in the params file",
            )
        if d.get("encoding"):
            try:
                codecs.lookup(d["encoding"])
            except LookupError:
                raise ParamsError(
                    f"{where}.encoding: unknown encoding {d['encoding']!r}",
                    file=file,
                    fix="use a codec name such as utf-8, cp1252, latin-1 or utf-16",
                ) from None
        if d.get("sep") is not None and len(d["sep"]) != 1:
            raise ParamsError(
                f"{where}.sep must be one character, got {d['sep']!r}",
                file=file,
                fix=f'set {where}.sep: ";" (or "," or "\\t" for a tab)',
            )
        sheet = d.get("sheet")
        if sheet is not None:
            expect_type(sheet, (str, int), f"{where}.sheet", file=file)
        path = None
        if "source" in d:
            src = expect_type(d["source"], str, f"{where}.source", file=file)
            path = (base_dir / src).resolve() if not Path(src).is_absolute() else Path(src)
        return cls(
            table=table,
            path=path,
            sql=expect_type(d["sql"], str, f"{where}.sql", file=file) if "sql" in d else None,
            url_env=d.get("url_env"),
            columns={str(k): str(v) for k, v in columns.items()},
            placeholders=tuple(str(p) for p in placeholders),
            date_format=d.get("date_format"),
            dayfirst=bool(
                expect_type(d.get("dayfirst", False), bool, f"{where}.dayfirst", file=file)
            ),
            sep=d.get("sep"),
            encoding=d.get("encoding"),
            sheet=sheet,
            stage_map={str(k): str(v) for k, v in stage_map.items()},
        )


@dataclass
class Params:
    """A checked params file. Sections are parsed objects; notebook sections are dicts."""

    path: Path | None
    raw: dict[str, Any]
    run: RunConfig
    data: dict[str, TableSource]
    sections: dict[str, Any]
    notebooks: dict[str, dict[str, Any]]

    @property
    def base_dir(self) -> Path:
        """The folder relative paths are read from: the params file's, else the working one."""
        return self.path.parent if self.path is not None else Path.cwd()

    @property
    def scoring(self) -> ScoringConfig:
        """The parsed ``scoring`` section."""
        return self.sections["scoring"]

    @property
    def funnel(self) -> FunnelConfig:
        """The parsed ``funnel`` section."""
        return self.sections["funnel"]

    @property
    def roi(self) -> RoiConfig:
        """The parsed ``roi`` section."""
        return self.sections["roi"]

    @property
    def experiments(self) -> ExperimentsConfig:
        """The parsed ``experiments`` section."""
        return self.sections["experiments"]

    def notebook(self, name: str) -> dict[str, Any]:
        """The notebook's own parameter section (empty when the file has none)."""
        return dict(self.notebooks.get(name, {}))

    def as_of(self, override: str | None = None) -> pd.Timestamp:
        """The analysis date: ``override`` if given, else ``run.as_of``; an error when neither."""
        if override:
            return parse_date(override, "as_of")
        if self.run.as_of is None:
            raise ParamsError(
                "no analysis date: run.as_of is not set and none was given",
                file=str(self.path) if self.path else None,
                fix='set run.as_of: "YYYY-MM-DD" in the params file, or pass --as-of YYYY-MM-DD',
            )
        return self.run.as_of


def _section_parser(name: str) -> type:
    """The class whose ``from_dict(d, base_dir)`` parses the params section ``name``.

    Design. The imports are inside the function on purpose: each of those modules imports
    :func:`check_keys` and friends from this one (a cycle if they were imported at the top), and
    ``leadnb --help`` or a params check should not load the analysis packages it does not need.

    Parameters
    ----------
    name : {"scoring", "funnel", "roi", "experiments"}
        A section of :data:`SECTIONS`.

    Returns
    -------
    type
        The section's config class.

    Raises
    ------
    KeyError
        ``name`` is not an analysis section.

    Examples
    --------
    >>> _section_parser("funnel").__name__
    'FunnelConfig'
    """
    match name:
        case "scoring":
            from leadnb.scoring import ScoringConfig as parser
        case "funnel":
            from leadnb.funnel.stages import FunnelConfig as parser
        case "roi":
            from leadnb.roi import RoiConfig as parser
        case "experiments":
            from leadnb.experiments import ExperimentsConfig as parser
        case _:
            raise KeyError(f"no params section {name!r}; the sections are {', '.join(SECTIONS)}")
    return parser


def params_from_dict(raw: Any, *, path: Path | None = None) -> Params:
    """Check and parse an already-loaded params mapping.

    Parameters
    ----------
    raw : object
        The params file's content (a mapping of the top-level keys; ``None`` reads as empty).
    path : Path, optional
        The file it came from: relative paths are resolved against its folder (else the working
        folder) and errors name it.

    Returns
    -------
    Params
        ``run``, ``data`` (one :class:`TableSource` per table), ``sections`` (each parsed by the
        class :func:`_section_parser` names) and ``notebooks`` (the notebooks' own sections as
        dicts).

    Raises
    ------
    ParamsError
        At the first unknown key or bad value, naming the section, the key and the fix.

    Examples
    --------
    >>> p = params_from_dict({"run": {"as_of": "2026-06-30"}, "data": {"leads": "/d/leads.csv"},
    ...                       "ab_testing": {"inflow_weeks": 8}})
    >>> p.as_of(), p.data["leads"].path, p.notebook("ab_testing")
    (Timestamp('2026-06-30 00:00:00'), PosixPath('/d/leads.csv'), {'inflow_weeks': 8})
    >>> p.funnel.new_lead_days
    30
    """
    file = str(path) if path is not None else None
    base_dir = path.parent if path is not None else Path.cwd()
    raw = check_keys(raw, TOP_LEVEL, "the params file (top level)", file=file)
    run = RunConfig.from_dict(raw.get("run"), base_dir, file=file)
    data_raw = check_keys(raw.get("data"), TABLES, "data", file=file)
    data = {t: TableSource.from_dict(t, spec, base_dir, file=file) for t, spec in data_raw.items()}
    sections = {}
    for name in SECTIONS:
        try:
            sections[name] = _section_parser(name).from_dict(raw.get(name) or {}, base_dir)
        except ParamsError as err:
            for issue in err.issues:
                issue.file = issue.file or file
            raise
    notebooks = {}
    for nb in NOTEBOOKS:
        sec = raw.get(nb) or {}
        check_keys(sec, list(sec) if isinstance(sec, Mapping) else [], nb, file=file)
        notebooks[nb] = dict(sec)
    return Params(path=path, raw=raw, run=run, data=data, sections=sections, notebooks=notebooks)


class _YamlTooLarge(Exception):
    """Raised inside the loader when a document's aliases expand beyond the limits."""


class _GuardedLoader(yaml.SafeLoader):
    """A SafeLoader that counts alias nodes while composing (refusing more than
    :data:`MAX_YAML_ALIASES`) so a billion-laughs document is refused before it is built."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.n_aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.n_aliases += 1
            if self.n_aliases > MAX_YAML_ALIASES:
                raise _YamlTooLarge(f"more than {MAX_YAML_ALIASES} aliases (*name)")
        return super().compose_node(parent, index)


def expanded_size(node: yaml.Node, limit: int = MAX_YAML_NODES) -> int:
    r"""Number of nodes of a composed YAML graph with every alias expanded.

    Design. Shared nodes count each time they are used, but nothing is expanded: each node's
    size is computed once and memoised, so a "billion laughs" document is measured in a few
    steps per anchor.

    Parameters
    ----------
    node : yaml.Node
        A composed (not constructed) document.
    limit : int, default :data:`MAX_YAML_NODES`
        Stop counting above this.

    Returns
    -------
    int
        The number of nodes.

    Raises
    ------
    _YamlTooLarge
        Above ``limit``, or on a recursive alias.

    Examples
    --------
    >>> node = yaml.compose("a: &x [1, 2, 3]\nb: [*x, *x]")
    >>> expanded_size(node)  # the mapping, 2 keys, the list of 3 (4) and a list of two of them
    16
    """
    sizes: dict[int, int] = {}
    busy: set[int] = set()

    def size(n: yaml.Node) -> int:
        key = id(n)
        if key in sizes:
            return sizes[key]
        if key in busy:
            raise _YamlTooLarge("a recursive alias (a block that contains itself)")
        busy.add(key)
        total = 1
        if isinstance(n, yaml.SequenceNode):
            for child in n.value:
                total += size(child)
                if total > limit:
                    break
        elif isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                total += size(k) + size(v)
                if total > limit:
                    break
        busy.discard(key)
        if total > limit:
            raise _YamlTooLarge(f"more than {limit:,} values once its aliases are expanded")
        sizes[key] = total
        return total

    return size(node)


def _safe_load_guarded(text: str) -> Any:
    loader = _GuardedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        expanded_size(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def read_yaml(path: Path, what: str, *, missing_fix: str | None = None) -> Any:
    r"""Parse a YAML file safely.

    Anchors and aliases (``&name`` / ``*name``) are allowed within limits: more than
    :data:`MAX_YAML_ALIASES` aliases, a recursive alias, or a document of more than
    :data:`MAX_YAML_NODES` values once aliases are expanded (a "billion laughs" bomb) is refused
    before anything is built from it.

    Parameters
    ----------
    path : Path
        The file.
    what : str
        How errors name it, e.g. ``"the params file"``.
    missing_fix : str, optional
        With it, a missing file is a :class:`ParamsError` with this fix (else ``OSError``).

    Returns
    -------
    object
        The document (``None`` for an empty file).

    Raises
    ------
    ParamsError
        Invalid YAML (naming the line and column), non-UTF-8 text, too many aliases, too deep
        a nesting, or a missing file with ``missing_fix``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "rules.yaml"
    ...     _ = path.write_text("rules: [a, b\n")
    ...     try:
    ...         read_yaml(path, "the rules file")
    ...     except ParamsError as err:
    ...         print(err.issues[0].message)
    the rules file is not valid YAML at line 2, column 1: expected ',' or ']', but got '<stream end>'
    """
    if missing_fix is not None and not path.exists():
        raise ParamsError(f"{what} not found: {path}", file=str(path), fix=missing_fix)
    try:
        return _safe_load_guarded(path.read_text(encoding="utf-8"))
    except _YamlTooLarge as exc:
        raise ParamsError(
            f"{what} uses YAML anchors/aliases too much: {exc}",
            file=str(path),
            fix="write the values out instead of reusing blocks with &anchor / *alias (a few "
            "aliases are fine); a file that expands into huge lists is refused as unsafe",
        ) from None
    except RecursionError:
        raise ParamsError(
            f"{what} is nested too deeply to read",
            file=str(path),
            fix="flatten the nesting of lists and mappings",
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ParamsError(
            f"{what} is not valid YAML{at}: {getattr(exc, 'problem', exc)}",
            file=str(path),
            fix="check indentation and quoting near that line",
        ) from None
    except UnicodeDecodeError:
        raise ParamsError(
            f"{what} is not UTF-8 text", file=str(path), fix="save it as UTF-8"
        ) from None


def load_params(path: str | Path) -> Params:
    """Read, check and parse a params YAML file.

    Parameters
    ----------
    path : str or Path
        The params file; relative paths in it are read from its folder.

    Returns
    -------
    Params
        See :func:`params_from_dict`.

    Raises
    ------
    ParamsError
        On any problem: a missing or unreadable file, invalid YAML, an unknown key, a bad value.

    Examples
    --------
    >>> params = load_params("params/demo.yaml")  # from the repository's root
    >>> params.run.name, params.data["events"].path.name
    ('demo', 'events.parquet')
    """
    path = Path(path).resolve()
    raw = read_yaml(
        path,
        "the params file",
        missing_fix="pass the path of a params YAML file, e.g. params/demo.yaml",
    )
    return params_from_dict(raw, path=path)


__all__ = [
    "MAX_RUN_NAME",
    "MAX_YAML_ALIASES",
    "MAX_YAML_NODES",
    "NOTEBOOKS",
    "TABLES",
    "Issue",
    "Params",
    "RunConfig",
    "TableSource",
    "check_keys",
    "expanded_size",
    "expect_type",
    "load_params",
    "read_yaml",
    "params_from_dict",
    "parse_date",
]
