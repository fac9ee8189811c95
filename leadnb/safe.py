"""Data from a CRM export is text, never code: escaping, HTML sanitising, CSV cells, file names.

Design: leadnb reads tables that anyone can write into (a web form fills a company name, a UTM
parameter a lead source, a marketer names an experiment), and its outputs are opened by people:
HTML reports in a browser, CSVs in Excel, files in a folder. This module is the one home of the
rules that keep such values inert, each a small pure function:

* :func:`escape` - text for an HTML element or a quoted attribute.
* :func:`sanitize_html` - an HTML fragment computed from data (a notebook's ``text/html``
  output) reduced to an allow-list of table and formatting elements: no script, style, iframe,
  object, embed, form or SVG element, no ``on*`` attribute, no ``style`` attribute, links only
  to ``http``/``https``/``mailto`` or relative targets, images only from ``data:image/...``.
  Built on nh3 (Python bindings of ammonia, the HTML5-parsing sanitiser in Rust that PyPI's
  readme renderer uses); bleach, which nbconvert installs and this used before, is deprecated,
  and took 0.61 s for the 81 HTML outputs of a demo run where nh3 takes 0.01 s, with the same
  elements, attributes and text in all of them and in every hostile fragment tried.
* :func:`markdown_to_safe_html` - a ``text/markdown`` output rendered with raw HTML escaped.
* :func:`neutralise_csv_cells` - the OWASP rule against formula injection for CSVs that
  people open in a spreadsheet.
* :func:`file_name` - a name that becomes a file name (an experiment id in a chart's file name)
  slugged to ``[A-Za-z0-9_.-]`` with a short hash when it had to change, so it can never leave
  its folder and two names never share a file.
* :data:`CSP` / :data:`CSP_META` - the Content-Security-Policy of every page leadnb renders:
  no script at all, images only embedded, styles only inline (a second wall behind escaping).
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported where a frame is handled: the run's worker processes
    import pandas as pd  # render pages with this module and never load it (0.4 s each)

CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
    "script-src 'none'; object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'"
)
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'

# --------------------------------------------------------------------------------------------
# HTML

ALLOWED_TAGS = frozenset(
    {
        "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "colgroup", "col",
        "p", "div", "span", "br", "hr", "b", "strong", "i", "em", "u", "s", "del", "ins",
        "small", "sub", "sup", "mark", "code", "pre", "kbd", "samp", "blockquote", "q",
        "ul", "ol", "li", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
        "a", "abbr", "img", "details", "summary",
    }
)  # fmt: skip
"""Elements a data-derived HTML fragment may keep (tables, captions, text formatting)."""

_GLOBAL_ATTRS = frozenset({"class", "id", "title", "lang", "dir"})
_TAG_ATTRS = {
    "a": frozenset({"href", "rel"}),
    "img": frozenset({"src", "alt", "width", "height"}),
    "td": frozenset({"colspan", "rowspan", "align"}),
    "th": frozenset({"colspan", "rowspan", "align", "scope"}),
    "col": frozenset({"span"}),
    "colgroup": frozenset({"span"}),
    "table": frozenset({"border"}),
    "ol": frozenset({"start", "type"}),
    "abbr": frozenset(),
    "details": frozenset({"open"}),
}
# elements removed together with their content (a tag left out of the allow-list keeps its text)
_DROP_WITH_CONTENT = (
    "script", "style", "template", "noscript", "iframe", "object", "embed", "applet",
    "svg", "math", "frame", "frameset", "head", "title", "textarea", "select", "xmp",
)  # fmt: skip
_URL_NOISE = re.compile(r"[`\x00-\x20\x7f-\xa0\s]+")
_IMAGE_DATA = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[a-z0-9+/=]*")


def escape(value: Any) -> str:
    """``value`` as text for an HTML element or a quoted attribute (``& < > " '`` escaped).

    >>> escape('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    """
    return html.escape(value if isinstance(value, str) else str(value), quote=True)


def _normal_url(value: str) -> str:
    """A URL as a browser resolves its scheme: entities decoded, blanks and controls dropped."""
    return _URL_NOISE.sub("", html.unescape(value)).lower()


def _attribute_allowed(tag: str, name: str, value: str) -> bool:
    name = name.lower()
    if name.startswith("on") or name == "style":
        return False
    if name in _GLOBAL_ATTRS or name in _TAG_ATTRS.get(tag, ()):
        if name == "src":
            return bool(_IMAGE_DATA.fullmatch(_normal_url(value)))
        if name == "href":
            return not _normal_url(value).startswith(("data:", "javascript:", "vbscript:"))
        return True
    return False


def sanitize_html(fragment: str) -> str:
    """An HTML fragment computed from data, reduced to :data:`ALLOWED_TAGS` and safe attributes.

    Script-like elements (script, style, iframe, object, embed, svg, ...) are removed with
    their content; any other element outside the allow-list is removed and its text kept (as
    text); ``on*`` and ``style`` attributes are dropped; ``href`` keeps only http(s), mailto and
    relative links, ``src`` only embedded ``data:image/...`` images. Text is escaped, comments
    are dropped.

    >>> sanitize_html('<table><tr><td onclick="x()">a<script>alert(1)</script></td></tr></table>')
    '<table><tbody><tr><td>a</td></tr></tbody></table>'
    >>> sanitize_html('<a href="javascript:alert(1)">x</a><b>&lt;ok&gt;</b>')
    '<a>x</a><b>&lt;ok&gt;</b>'
    """
    return _cleaner().clean(fragment)


@functools.cache
def _cleaner() -> Any:
    """The one ``nh3.Cleaner`` of :func:`sanitize_html` (built once per process)."""
    import nh3

    def keep(tag: str, name: str, value: str) -> str | None:
        return value if _attribute_allowed(tag, name, value) else None

    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={"*": set(_GLOBAL_ATTRS), **{t: set(a) for t, a in _TAG_ATTRS.items()}},
        attribute_filter=keep,
        url_schemes={"http", "https", "mailto", "data"},
        strip_comments=True,
        link_rel=None,  # rel is an allowed attribute of links: nothing is added
    )


def markdown_to_safe_html(text: str) -> str:
    """Markdown computed from data rendered to HTML with any raw HTML in it shown as text.

    >>> markdown_to_safe_html("**Verdict.** <script>alert(1)</script>")
    '<p><strong>Verdict.</strong> &lt;script&gt;alert(1)&lt;/script&gt;</p>'
    """
    import mistune

    md = mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])
    return sanitize_html(str(md(text))).strip()


# --------------------------------------------------------------------------------------------
# CSV cells

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection)."""


def _neutral(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _is_text(s: pd.Series) -> bool:
    import pandas as pd

    dtype = s.dtype
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
    )


def neutralise_csv_cells(df: pd.DataFrame, *, index: bool = False) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and labels cannot start a spreadsheet formula.

    Text cells (and column labels, and index labels when ``index``) starting with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return get a leading single quote, the OWASP rule for CSVs
    opened in Excel, LibreOffice or Google Sheets. Numbers, dates and booleans are untouched
    (numeric columns stay numeric); a text cell such as ``"-5"`` is text and is quoted. The
    input is not modified.

    >>> import pandas as pd
    >>> neutralise_csv_cells(pd.DataFrame({"id": ["=1+1", "ok", "-5"], "x": [-1, 2, 3]}))
          id  x
    0  '=1+1 -1
    1     ok  2
    2    '-5  3
    """
    out = df.copy()
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if _is_text(col):
            fixed = _neutral_column(col)
            if fixed is not col:
                out.isetitem(i, fixed)
    out.columns = _neutral_labels(out.columns)
    if index:
        out.index = _neutral_labels(out.index)
    return out


def _neutral_column(col: pd.Series) -> pd.Series:
    """``col`` with formula-like text quoted (``col`` itself when nothing needs it).

    Columns holding only text (and missing values) are checked in one vectorised pass; a
    column mixing text with other objects falls back to a check per cell.
    """
    import pandas as pd

    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = _neutral_labels(col.cat.categories)
        if cats is col.cat.categories:
            return col
        if cats.is_unique:
            return col.cat.rename_categories(cats)
        col = col.astype(object)
    if pd.api.types.is_object_dtype(col.dtype):
        kind = pd.api.types.infer_dtype(col, skipna=True)
        text = col.astype("str") if kind in ("string", "empty") else None
    else:
        text = col
    if text is None:  # mixed objects
        values = col.to_numpy(dtype=object)
        if not any(isinstance(v, str) and v.startswith(FORMULA_PREFIXES) for v in values):
            return col
        return pd.Series([_neutral(v) for v in values], index=col.index, dtype=object)
    hit = text.str.startswith(FORMULA_PREFIXES).fillna(False).astype(bool)
    if not hit.any():
        return col
    fixed = text.copy()
    fixed.loc[hit] = "'" + text.loc[hit]
    return fixed


def _neutral_labels(labels: pd.Index) -> pd.Index:
    import pandas as pd

    if isinstance(labels, pd.MultiIndex):
        return labels.set_levels([_neutral_labels(lv) for lv in labels.levels])
    if not any(isinstance(v, str) and v.startswith(FORMULA_PREFIXES) for v in labels):
        return labels
    return pd.Index([_neutral(v) for v in labels], name=labels.name)


# --------------------------------------------------------------------------------------------
# File names

MAX_NAME = 100
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9_.-]")
_HASHED = re.compile(r".*-[0-9a-f]{10}")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}$")


def file_name(name: str, *, suffix: str | None = None, max_len: int = MAX_NAME) -> str:
    """``name`` (plus ``suffix``, e.g. ``".png"``) as a file name that stays in its folder.

    Without ``suffix`` the name's own extension (``.csv``: a dot and 1-8 letters or digits) is
    kept as it is and the rest of the name is slugged; a given ``suffix`` is appended.

    Characters outside ``[A-Za-z0-9_.-]`` become ``_``, leading dots and dashes are dropped,
    and the stem is at most ``max_len`` characters. When the name had to change (or already
    looks like a slug with a hash) a ``-`` and 10 hex digits of its SHA-256 are added, so two
    different names never give the same file: ``../../x_exp`` and ``.._.._x_exp`` differ.

    >>> file_name("ab_results.csv")
    'ab_results.csv'
    >>> file_name("../../x_exp", suffix=".png")
    '_.._x_exp-6952ebf0fd.png'
    >>> file_name("ab_<b>.csv")
    'ab__b_-9cc101689b.csv'
    """
    text = str(name)
    if suffix is None:
        ext = _EXTENSION.search(text)
        suffix = ext.group(0) if ext and ext.start() > 0 else ""
        text = text[: len(text) - len(suffix)]
    slug = _UNSAFE_CHARS.sub("_", text).lstrip(".-")
    limit = max(1, max_len - 11)
    changed = slug != text or len(slug) > max_len or not slug or bool(_HASHED.fullmatch(slug))
    if changed:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        slug = f"{slug[:limit]}-{digest}" if slug else f"x-{digest}"
    return slug + suffix


__all__ = [
    "ALLOWED_TAGS",
    "CSP",
    "CSP_META",
    "FORMULA_PREFIXES",
    "escape",
    "file_name",
    "markdown_to_safe_html",
    "neutralise_csv_cells",
    "sanitize_html",
]
