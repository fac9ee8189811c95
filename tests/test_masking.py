"""leadnb.masking: which strings a run or a message must never show, and the masking.

The oracle for every form is written out here from the URL by hand (``urllib.parse`` for the
encodings), not taken from the module.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadnb import masking
from leadnb.data import loading
from leadnb.masking import (
    MIN_SECRET_LEN,
    Secret,
    collect_secrets,
    environ_secrets,
    mask_text,
    mask_url,
    mask_value,
    masked_url,
    split_url,
    url_secrets,
)

PASSWORD = "p@ss:w0rd/x@yQ7"


def forms_of(password: str) -> list[str]:
    """The forms of a password that must never be written: plain, percent-encoded, partial."""
    return [
        password,
        urllib.parse.quote(password, safe=""),
        urllib.parse.quote(password),
        urllib.parse.quote_plus(password),
        password.split("@", 1)[1],
    ]


def test_one_home_for_url_secrets() -> None:
    # the loaders mask their messages with the same functions a run masks its files with
    for name in ("split_url", "masked_url", "url_secrets", "mask_url"):
        assert getattr(loading, name) is getattr(masking, name)


# --------------------------------------------------------------------------------------------
# the forms of a URL's credentials


def test_url_secrets_split_at_the_last_at() -> None:
    url = f"postgresql+psycopg://analyst:{PASSWORD}@db.internal:5432/crm"
    forms = url_secrets(url, min_len=MIN_SECRET_LEN)
    assert f"analyst:{PASSWORD}" in forms
    for form in forms_of(PASSWORD):
        assert form in forms
    assert "db.internal" not in " ".join(forms)
    assert all(len(f) >= MIN_SECRET_LEN for f in forms)
    assert [len(f) for f in forms] == sorted((len(f) for f in forms), reverse=True)
    # a URL written percent-encoded: the decoded password (what a driver prints) is masked too
    encoded = f"postgresql://analyst:{urllib.parse.quote(PASSWORD, safe='')}@h/db"
    assert PASSWORD in url_secrets(encoded, min_len=MIN_SECRET_LEN)
    assert url_secrets("sqlite:///tmp/x.db") == []
    assert url_secrets("not a url") == []


def test_url_secrets_min_len_keeps_short_fragments_out() -> None:
    url = f"postgresql://analyst:{PASSWORD}@h/db"
    short = set(url_secrets(url)) - set(url_secrets(url, min_len=MIN_SECRET_LEN))
    assert short == {"yQ7"}  # the 3-character piece after the last '@' of the password
    assert {"p", "ss", "x"} <= set(url_secrets(url, min_len=1))


def test_mask_url_hides_the_password() -> None:
    url = "postgresql+psycopg://alice:s3cr3t@db.example:5432/crm"
    masked = mask_url(f"could not connect to {url} as alice (password s3cr3t)", url)
    assert "s3cr3t" not in masked and "alice@db.example" not in masked
    assert "***" in masked


@pytest.mark.parametrize(
    ("url", "leaks"),
    [
        (
            "postgresql://user:p@ss:w0rd/x@y@127.0.0.1:5432/crm",
            ["p@ss:w0rd/x@y", "p%40ss%3Aw0rd%2Fx%40y", "ss:w0rd", "w0rd", "x@y", "user:p"],
        ),
        ("postgresql://user:Pa%40ss@127.0.0.1/crm", ["Pa%40ss", "Pa@ss", "user:Pa"]),
        ("postgresql://user:pa@tPassw0rd@127.0.0.1/db", ["tPassw0rd", "pa@t"]),
    ],
)
def test_mask_url_masks_up_to_the_last_at(url: str, leaks: list[str]) -> None:
    head, creds, rest = split_url(url)
    assert head == "postgresql://" and rest.startswith("127.0.0.1")
    assert masked_url(url) == f"postgresql://***@{rest}"
    message = (
        f"cannot connect to {url}; host {rest.split('/')[0]}; password {creds.partition(':')[2]}"
        f"; port {creds.split(':')[-1]}"
    )
    masked = mask_url(message, url)
    for leak in leaks:
        assert leak not in masked, leak
    assert "127.0.0.1" in masked  # the host stays readable


def test_url_without_credentials_is_unchanged() -> None:
    assert split_url("sqlite:///tmp/crm.db") is None
    assert masked_url("sqlite:///tmp/crm.db") == "sqlite:///tmp/crm.db"
    assert masked_url("no scheme at all") == "***"  # where its secret is is unknown
    assert mask_url("no such table: x", "sqlite:///tmp/crm.db") == "no such table: x"
    assert url_secrets("not a url") == []
    # a one-letter password is masked inside the credentials only, not letter by letter
    assert mask_url("table p", "postgresql://u:p@host/db") == "table p"


# --------------------------------------------------------------------------------------------
# a run's secrets


def test_collect_secrets_and_mask_text() -> None:
    url = "postgresql+psycopg://analyst:S3cretPassw0rd@db.internal:5432/crm"
    found = collect_secrets(["DB"], {"DB": url})
    assert [s.value for s in found] == [
        url,
        "analyst%3AS3cretPassw0rd",
        "analyst:S3cretPassw0rd",
        "S3cretPassw0rd",
    ]
    assert [s.mask for s in found] == ["[secret $DB]", "***", "***", "***"]
    text = f"failed to connect to {url}; password S3cretPassw0rd rejected"
    masked = mask_text(text, found)
    assert "S3cretPassw0rd" not in masked and url not in masked
    assert "[secret $DB]" in masked
    assert collect_secrets(["DB"], {}) == ()


def test_a_named_variable_is_masked_whole_even_without_a_password() -> None:
    found = collect_secrets(["DB"], {"DB": "sqlite:////data/Zq7Token.db"})
    assert found == (Secret("sqlite:////data/Zq7Token.db", "[secret $DB]"),)


def test_every_form_is_masked_in_any_text() -> None:
    url = f"postgresql://analyst:{PASSWORD}@127.0.0.1:9/crm"
    found = collect_secrets(["DB"], {"DB": url})
    # what drivers and parsers print: the URL re-assembled, split at the first '@', encoded
    text = "\n".join(
        [
            f"could not connect to {url}",
            f"password authentication failed: {PASSWORD}",
            f"host 'ss' port 'w0rd' database '{PASSWORD.split('@', 1)[1]}@127.0.0.1:9/crm'",
            f"postgresql://analyst:{urllib.parse.quote(PASSWORD, safe='')}@127.0.0.1:9/crm",
            f"user:***@{PASSWORD.split('@', 1)[1]}@host",
        ]
    )
    masked = mask_text(text, found)
    for form in forms_of(PASSWORD):
        assert form not in masked, form
    assert "[secret $DB]" in masked


def test_other_environment_urls_are_masked_too() -> None:
    env = {"http_proxy": "http://me:Pr0xyPass@proxy:3128", "HOME": "/root", "X": "https://a/b"}
    found = collect_secrets(["DB"], env)
    assert {"Pr0xyPass", "me:Pr0xyPass"} <= {s.value for s in found}
    assert all("/root" != s.value and "https://a/b" != s.value for s in found)
    assert environ_secrets(env) == collect_secrets([], env)
    assert {s.value for s in environ_secrets(env)} == {s.value for s in found}


def test_mask_text_masks_any_url_password() -> None:
    assert mask_text("see mysql://bob:hunter22@host/db", ()) == "see mysql://***@host/db"
    for url, masked in [
        ("'postgresql+psycopg2://u:p4ss@h:5432/d'", "'postgresql+psycopg2://***@h:5432/d'"),
        ('"url": "mssql+pyodbc://sa:Pw.1@srv/db"', '"url": "mssql+pyodbc://***@srv/db"'),
        ("(xhttps://a:b@c)", "(xhttps://***@c)"),
        (
            "\x1b[30;43mpostgresql+psycopg2://an:Sup3r@db/crm",
            "\x1b[30;43mpostgresql+psycopg2://***@db/crm",
        ),
        ("1postgresql://u:pw@h", "1postgresql://***@h"),
        ("+mysql://u:pw@h", "+mysql://***@h"),
        ("no password https://host/path:8@x", "no password https://host/path:8@x"),
        ("a profile https://medium.com/@name", "a profile https://medium.com/@name"),
        # a password with unencoded '@', ':' and '/': everything up to the LAST '@' goes
        ("pg postgresql://user:p@ss:w0rd/x@y@host:5432/db", "pg postgresql://***@host:5432/db"),
        ("redis://:tok3n@cache:6379/0", "redis://***@cache:6379/0"),
    ]:
        assert mask_text(url, ()) == masked


def test_mask_text_leaves_base64_and_plain_links_alone() -> None:
    blob = "iVBORw0KGgoAAAANSUhEUgAA+/9k" * 20_000  # an embedded image, half a megabyte
    text = f'<img src="data:image/png;base64,{blob}"> <a href="https://example.com/a:b">x</a>'
    assert mask_text(text, ()) == text
    assert mask_text(blob + " postgresql://u:pw@h", ()) == blob + " postgresql://***@h"


def test_mask_value_handles_nested_and_dates() -> None:
    found = (Secret("tok3n-value", "***"),)
    value = {"a": ["x tok3n-value y", dt.date(2026, 6, 30)], "b": 1, 2: ("t", None, 0.5)}
    assert mask_value(value, found) == {
        "a": ["x *** y", "2026-06-30"],
        "b": 1,
        "2": ["t", None, 0.5],
    }


URLISH = st.lists(
    st.sampled_from(list("aZx9_+.-:/@ '\"\n\té%"))
    | st.sampled_from(["://", "db://u:p@", "a" * 44]),
    max_size=60,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.lists(URLISH, max_size=4).map("".join))
def test_userinfo_masking_equals_the_regex_over_the_whole_text(text: str) -> None:
    """The userinfo mask runs its regular expression only around each ``://``; on any text the
    result is the expression's substitution over the whole text."""
    whole = masking._URL_PASSWORD.sub(r"\g<head>***@", text)
    assert masking.mask_text(text, ()) == whole


def test_userinfo_masking_at_the_edges_of_its_windows() -> None:
    head = "s" + "c" * 40  # the longest scheme the expression takes: 41 characters
    assert masking.mask_text(f"x {head}://u:p@h", ()) == f"x {head}://***@h"
    assert masking.mask_text(f"{head}x://u:p@h", ()) == f"{head}x://u:p@h"  # too long: no URL
    assert masking.mask_text("a://u:p@h b://v:q@i", ()) == "a://***@h b://***@i"
    assert masking.mask_text("'a://u:p@h'c://v:q@i\"", ()) == "'a://***@h'c://***@i\""
    assert masking.mask_text("a://u:p@y://v:q@h", ()) == "a://***@h"  # up to the last @
