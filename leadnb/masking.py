"""Secrets: which strings a run or a message must never show, and how they are masked.

Design. A params file names environment variables that hold database URLs
(``data.<table>.url_env``); nothing else is a secret. For a URL, the secret is its userinfo:
everything between ``scheme://`` and the URL's LAST ``@`` (a password may hold an unencoded
``@``, ``:`` or ``/``). :func:`url_secrets` is the one place that lists the forms of it a
driver, a parser or a log line may print (plain, percent-decoded, percent-encoded, and the
pieces a parser that splits at the wrong delimiter echoes as a host, port or path); the
loaders mask their error messages with it (:func:`mask_url`) and a run masks every file and
line with it (:func:`collect_secrets`, :func:`mask_text`). The module imports only the
standard library, so the data layer can use it without importing the runner.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MIN_SECRET_LEN = 4
"""Shortest form a run masks in every file: a shorter fragment would mask ordinary words and
numbers of the reports (an error message is masked from 3 characters, see :func:`mask_url`)."""

MIN_MESSAGE_SECRET_LEN = 3
"""Shortest form :func:`mask_url` masks in one error message."""

_URL_SCHEME = re.compile(r"\s*[A-Za-z][\w+.-]{0,40}://")
# A password's delimiters as parsers misread them: '@' ends userinfo, ':' a port, '/', '?' and
# '#' a path, query or fragment.
_DELIMITERS = re.compile(r"[@:/?#]")
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


@dataclass(frozen=True)
class Secret:
    """A value to mask: ``value`` is replaced by ``mask`` wherever it appears."""

    value: str
    mask: str


def split_url(url: str) -> tuple[str, str, str] | None:
    """Split a URL into its scheme, its credentials and the rest.

    Parameters
    ----------
    url : str
        A URL such as ``postgresql://user:password@host:5432/db``.

    Returns
    -------
    tuple of (str, str, str) or None
        ``(scheme://, credentials, rest)``, the credentials being everything between the scheme
        and the LAST ``@`` (so an unencoded ``@`` in a password stays inside them); ``None``
        when the URL has no scheme or no ``@``.

    Examples
    --------
    >>> split_url("postgresql://me:p@ss@db:5432/crm")
    ('postgresql://', 'me:p@ss', 'db:5432/crm')
    >>> split_url("sqlite:///tmp/crm.db") is None
    True
    """
    m = _URL_SCHEME.match(url)
    if m is None:
        return None
    head, tail = url[: m.end()], url[m.end() :]
    at = tail.rfind("@")
    if at < 0:
        return None
    return head, tail[:at], tail[at + 1 :]


def masked_url(url: str) -> str:
    """The URL with its credentials replaced by ``***``.

    Parameters
    ----------
    url : str
        A database URL.

    Returns
    -------
    str
        Everything between the scheme and the last ``@`` replaced by ``***``. A URL without
        credentials is returned as it is; a text that is not a URL at all (no ``scheme://``) as
        ``***``: where its secret is is unknown.

    Examples
    --------
    >>> masked_url("postgresql://me:p@ss@db.example:5432/crm")
    'postgresql://***@db.example:5432/crm'
    >>> masked_url("sqlite:///tmp/crm.db")
    'sqlite:///tmp/crm.db'
    """
    parts = split_url(url)
    if parts is None:
        return url if _URL_SCHEME.match(url) else "***"
    head, _, rest = parts
    return f"{head}***@{rest}"


def url_secrets(url: str, *, min_len: int = MIN_MESSAGE_SECRET_LEN) -> list[str]:
    """The strings of ``url`` nothing may show, longest first.

    Parameters
    ----------
    url : str
        A URL, possibly with credentials (``scheme://user:password@host...``).
    min_len : int, default 3
        Shortest string returned: a one-letter password masked letter by letter would destroy
        the text. A run masks every file with :data:`MIN_SECRET_LEN` (4).

    Returns
    -------
    list of str
        The credentials (everything between the scheme and the last ``@``) and the password,
        each as written, percent-decoded and percent-encoded (``quote`` with and without ``/``
        safe, ``quote_plus``), plus what a parser that mistook an unencoded ``@ : / ? #`` of the
        password for a delimiter would echo as a host, port or path: the password's parts before
        and after each delimiter and between them. Empty for a URL without credentials.

    Examples
    --------
    >>> forms = url_secrets("postgresql://me:p@ss:w0rd/x@y@db:5432/crm")
    >>> forms[:2]
    ['me%3Ap%40ss%3Aw0rd%2Fx%40y', 'me%3Ap%40ss%3Aw0rd/x%40y']
    >>> [f in forms for f in ("me:p@ss:w0rd/x@y", "p@ss:w0rd/x@y", "ss:w0rd/x@y", "w0rd")]
    [True, True, True, True]
    >>> any("db" in f for f in forms), len(min(forms, key=len))
    (False, 3)
    >>> url_secrets("postgresql://u:p@host/db")  # a one-letter password is not masked alone
    ['u%3Ap', 'u:p']
    >>> url_secrets("sqlite:///tmp/crm.db")
    []
    """
    parts = split_url(url)
    if parts is None:
        return []
    creds = parts[1]
    password = creds.partition(":")[2]
    found: set[str] = set()
    for base in (creds, password):
        for text in (base, urllib.parse.unquote(base)):
            found |= {
                text,
                urllib.parse.quote(text, safe=""),
                urllib.parse.quote(text),
                urllib.parse.quote_plus(text),
            }
    for text in (password, urllib.parse.unquote(password)):
        cuts = [m.start() for m in _DELIMITERS.finditer(text)]
        found |= {text[i + 1 :] for i in cuts} | {text[:i] for i in cuts}  # tails, heads
        found |= set(_DELIMITERS.split(text))  # and the pieces between
    return sorted((s for s in found if len(s) >= min_len), key=lambda s: (-len(s), s))


def mask_url(text: str, url: str) -> str:
    """``text`` with the database URL ``url`` masked and every other trace of its credentials.

    Parameters
    ----------
    text : str
        A message, e.g. a database driver's error.
    url : str
        The database URL the message may echo.

    Returns
    -------
    str
        ``text`` with ``url`` replaced by :func:`masked_url` and each string of
        :func:`url_secrets` (from 3 characters) replaced by ``***``.

    Examples
    --------
    >>> url = "postgresql://alice:s3cr3t@db.example/crm"
    >>> mask_url(f"cannot connect to {url} (password s3cr3t)", url)
    'cannot connect to postgresql://***@db.example/crm (password ***)'
    """
    if url:
        text = text.replace(url, masked_url(url))
    for secret in url_secrets(url):
        text = text.replace(secret, "***")
    return text


def collect_secrets(
    url_envs: Iterable[str], environ: Mapping[str, str] | None = None
) -> tuple[Secret, ...]:
    """The secret values a run masks: each named variable's value and its URL secrets.

    Parameters
    ----------
    url_envs : iterable of str
        The environment variables a params file names (``data.<table>.url_env``).
    environ : mapping, optional
        The environment (default ``os.environ``).

    Returns
    -------
    tuple of Secret
        For every named variable: its whole value (masked ``[secret $VAR]``) and the forms of
        :func:`url_secrets` from :data:`MIN_SECRET_LEN` characters (masked ``***``). Any other
        environment variable holding a URL with a password (``http_proxy=http://u:pw@proxy``...)
        is masked the same way. Longer values come first, so a URL is masked whole before its
        password alone is.

    Examples
    --------
    >>> env = {"DB": "postgresql://me:S3cret99@db/crm", "HOME": "/root"}
    >>> [(s.value, s.mask) for s in collect_secrets(["DB"], env)][-2:]
    [('me:S3cret99', '***'), ('S3cret99', '***')]
    >>> collect_secrets(["DB"], env)[0].mask
    '[secret $DB]'
    """
    env = os.environ if environ is None else environ
    named = [v for v in url_envs if v]
    found: dict[str, str] = {}
    for var in named + sorted(k for k in env if k not in named):
        value = env.get(var, "")
        forms = url_secrets(value, min_len=MIN_SECRET_LEN)
        if var not in named and not forms:
            continue
        if len(value) >= MIN_SECRET_LEN:
            found.setdefault(value, f"[secret ${var}]")
        for form in forms:
            found.setdefault(form, "***")
    ordered = sorted(found.items(), key=lambda kv: -len(kv[0]))
    return tuple(Secret(v, m) for v, m in ordered)


def environ_secrets(environ: Mapping[str, str] | None = None) -> tuple[Secret, ...]:
    """The URL secrets of every environment variable, for messages printed before (or
    without) a params file: :func:`collect_secrets` with no named variable.

    Parameters
    ----------
    environ : mapping, optional
        The environment (default ``os.environ``).

    Returns
    -------
    tuple of Secret
        As :func:`collect_secrets`.
    """
    return collect_secrets((), environ)


def mask_text(text: str, secrets: Iterable[Secret]) -> str:
    """``text`` with every secret value replaced, and any URL's userinfo masked.

    Parameters
    ----------
    text : str
        Any text: a progress line, a notebook, a CSV file's content.
    secrets : iterable of Secret
        Values to replace (longest first, as :func:`collect_secrets` orders them).

    Returns
    -------
    str
        ``text`` with each ``secret.value`` replaced by ``secret.mask``, then any
        ``scheme://user:password@`` masked up to the URL's last ``@`` (``scheme://***@host``).

    Examples
    --------
    >>> mask_text("see mysql://bob:hunter22@host/db", ())
    'see mysql://***@host/db'
    >>> mask_text("token tok3n-value", [Secret("tok3n-value", "[secret $X]")])
    'token [secret $X]'
    """
    for s in secrets:
        if s.value in text:
            text = text.replace(s.value, s.mask)
    if "://" not in text:
        return text
    return _mask_userinfo(text)


_TOKEN_END = re.compile(r"[\s'\"]")
_HEAD_REACH = 45  # a URL's scheme (the match's head) starts at most 41 characters before "://"


def _mask_userinfo(text: str) -> str:
    """``_URL_PASSWORD.sub`` over ``text``, run only where a match can be: the runs of text
    without blanks or quotes (no match crosses one) that hold a ``://``, from just before its
    scheme can start. The whole text took 0.06 s per MB (a report is 2 MB of embedded charts),
    each piece of it tried as the start of a scheme."""
    parts: list[str] = []
    done = 0
    at = text.find("://")
    while at != -1:
        start = max(done, at - _HEAD_REACH)
        end_match = _TOKEN_END.search(text, at)
        end = end_match.start() if end_match else len(text)
        parts += [text[done:start], _URL_PASSWORD.sub(r"\g<head>***@", text[start:end])]
        done = end
        at = text.find("://", done)
    parts.append(text[done:])
    return "".join(parts)


def mask_value(value: Any, secrets: Iterable[Secret]) -> Any:
    """A JSON-able copy of ``value`` with secrets masked.

    Parameters
    ----------
    value : Any
        Dicts, lists, tuples, scalars and dates (e.g. a parsed params file).
    secrets : iterable of Secret
        As for :func:`mask_text`.

    Returns
    -------
    Any
        The same structure with string keys, lists for tuples, ISO strings for dates, every
        string masked with :func:`mask_text`, and any other object as its masked ``str``.

    Examples
    --------
    >>> mask_value({"a": ["x tok3n y", dt.date(2026, 6, 30)], "b": 1}, [Secret("tok3n", "***")])
    {'a': ['x *** y', '2026-06-30'], 'b': 1}
    """
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


__all__ = [
    "MIN_SECRET_LEN",
    "Secret",
    "collect_secrets",
    "environ_secrets",
    "mask_text",
    "mask_url",
    "mask_value",
    "masked_url",
    "split_url",
    "url_secrets",
]
