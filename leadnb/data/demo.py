"""The synthetic demo dataset: a realistic, deterministic B2B lead funnel with known ground truth.

Design. :func:`generate` is pure (no I/O): from ``n_leads`` and ``seed`` it builds every input
table of the data contract as it would come out of a CRM export (CRM stage names, placeholder
values such as ``"Select"`` and ``"-"`` in a few profile cells) plus two helper tables
(``truth``: the hidden kind of every lead; ``abm_accounts``: the ABM target list). It tells the
story below in steps, one private function each (``_draw_arrivals``, ``_draw_membership``, ...,
``_draw_orders``), every one taking the random generator and drawing from it in a fixed order,
so a seed always gives the same tables. Everything is vectorised numpy/pyarrow, for samples of
a million leads: per-lead event counts are expanded with ``np.repeat``, timestamps are integer
microseconds, and string columns are built by ``take`` on small vocabularies.
:func:`write_sample` writes the tables and a params file pointing at them into a temporary
folder next to the target and renames it into place, so a failed run never leaves half a
dataset.

The story (constants :data:`TRUTH`, :data:`KIND_SHARES`, :data:`NURTURE_LIFT`):

* 18 months of leads, 2025-01-01 to 2026-06-29, analysed ``as_of`` 2026-06-30 (nothing dated on
  or after it exists). Inflow grows about 35% over the span, with a mild annual season and quiet
  weekends. Leads belong to accounts (about four leads per account, heavy-tailed); 10% of the
  ordinary accounts are on the ABM list.
* Four hidden kinds of lead (``truth.csv``): ``high_intent`` (4%: few events, a pricing/demo
  request or a contact-sales form within days, most reach SQL within 30 days, low-to-medium
  score), ``engaged`` (30%: many long reads, groups and events; convert slowly, mostly as old
  leads and much more after the nurture programme starts), ``competitor`` (5%: read everything,
  the highest scores, never reach SQL; 60% write from rivalcrm.example / pipelinepro.example and
  half carry the ``competitor`` tag) and ``cold`` (61%: few events, rarely convert).
* Conversion to SQL: a lead younger than 30 days ("new") converts with a per-kind probability; an
  older lead ("old") has a per-kind hazard that fades with age (time constant 90 days) and is
  multiplied by :data:`NURTURE_LIFT` from :data:`NURTURE_START` on. Because the hazard fades,
  the "old base" barely grows, so the article's picture appears: in the quarter before the
  programme about a third of SQLs come from old leads, in the quarter after about half (the Q1
  2026 experiment then pushes the share higher while it runs). More active leads (the per-lead
  activity multiplier that also drives their event count) have a higher old-lead hazard: this is
  where the score's modest predictive power (AUC about 0.63 with :data:`DEMO_RULES`) comes from.
* The demo experiment ``nurture-cadence-2026q1`` (:data:`DEMO_EXPERIMENT`, the same registration
  as params/experiments/): old leads not yet SQL (and not lost) are assigned 2026-01-05 ..
  2026-03-29, 12.5% of ``n_leads`` per arm (2,500 at the default size, the registered planned n),
  exactly half to each arm (so no sample ratio mismatch). Their SQL stage rows are generated
  *after* assignment: the arm's 30-day SQL rate is 8% (control) / 12% (variant) in expectation;
  a lead that does not convert in its window keeps its natural (later) conversion time, pushed
  past the window. ``outcome`` is left empty, so outcomes come from the stage history. The
  campaign is a re-engagement moment, so these rates are far above the background hazard of old
  leads; the experiment adds about 2.5 percentage points to lead -> SQL. (3,000 per arm would
  push lead -> SQL above 6%; 2,500 keeps it at 5%.)
* The account-level experiment ``sdr-call-accounts-2026q1`` (:data:`DEMO_ACCOUNT_EXPERIMENT`,
  issue 18; drawn last, from its own random stream ``(seed, 18)``, so every table above keeps
  its draws): whole accounts are assigned 2026-02-02 .. 2026-04-26 (1.4% of ``n_leads`` accounts
  per arm) with their old MQLs that would not reach SQL within 30 days on their own; an SDR
  call multiplies the odds of SQL within 30 days by 2.5 (6 in software accounts: the declared
  segment ``industry`` has a different true effect), activity in the 90 days before assignment
  predicts the outcome (the registered covariate ``log_events_before_90d``), and accounts share a
  random effect (the intra-class correlation). Converters get an SQL row. The registration is
  sequential, by account.
* Funnel after SQL: 55% open an opportunity, 35% of those are won ("Closed Won"; orders follow),
  most others lost; a share of MQLs and SQLs that go no further are "Closed Lost".
* Costs: monthly rows per channel for ``lead_generation`` (about 90,000 a month at 20,000 leads)
  and one ``nurture`` row (12,000 a month) from 2025-10; both scale with ``n_leads / 20,000`` so
  the cost per SQL is the same at every size.
* Orders: every won lead's account orders at its own rate and size (log-normal), so the value x
  frequency map has customers in every group.

Data problems left in on purpose (about 1% of leads in all; ``truth.data_problem`` names them;
``leadnb validate`` reports each as a warning and the funnel copes):

1. ``stage_before_created`` (0.3% of leads): the "Marketing Qualified" row is dated one day
   before the lead's ``created_at`` (a re-imported lead kept its old stage date).
2. ``duplicate_stage_row`` (0.3%): one stage row of the lead appears twice, identically.
3. ``skipped_mql`` (0.3%): an SQL lead has no "Marketing Qualified" row (sql without mql).

Realised at the default size (20,000 leads, seed 42): lead -> SQL 5.4% (5.05% without the
account experiment), lead -> MQL 20.3%, 20.5 events per lead, share of SQLs from old leads 0.39
in 2025-Q3 and 0.48 in 2025-Q4 (0.19 over 2025-01..09, 0.80 over 2025-10..2026-06 with the
experiments), experiment 30-day SQL rate 7.4% (control) vs 12.2% (variant); the account
experiment 4.9% (email_only, 384 leads in 280 accounts) vs 13.4% (sdr_call, 426 leads in 280
accounts); the documented ranges are in :data:`TRUTH` and tested.
"""

from __future__ import annotations

import math
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import yaml

from leadnb.errors import LeadnbError

# --------------------------------------------------------------------------------------------
# Ground truth

START = pd.Timestamp("2025-01-01")
AS_OF = pd.Timestamp("2026-06-30")
NURTURE_START = pd.Timestamp("2025-10-01")
NEW_LEAD_DAYS = 30
NURTURE_LIFT = 2.5
OLD_HAZARD_DECAY_DAYS = 90.0
KINDS = ("high_intent", "engaged", "competitor", "cold")
KIND_SHARES = (0.04, 0.30, 0.05, 0.61)
EXPERIMENT_ID = "nurture-cadence-2026q1"
EXPERIMENT_START = pd.Timestamp("2026-01-05")
EXPERIMENT_END = pd.Timestamp("2026-03-29")
EXPERIMENT_RATES = {"monthly_newsletter": 0.08, "weekly_digest": 0.12}
EXPERIMENT_SHARE_PER_ARM = 0.125  # of n_leads: 2,500 per arm at 20,000 leads
# The second demo experiment (issue 18): whole accounts randomised, read sequentially, with
# pre-assignment covariates and a segment whose true effect differs. Drawn from its own random
# stream (seed, 18), after every other draw, so the tables above keep their values.
ACCOUNT_EXPERIMENT_ID = "sdr-call-accounts-2026q1"
ACCOUNT_EXPERIMENT_START = pd.Timestamp("2026-02-02")
ACCOUNT_EXPERIMENT_END = pd.Timestamp("2026-04-26")
ACCOUNT_EXPERIMENT_ARMS = ("email_only", "sdr_call")
ACCOUNT_EXPERIMENT_SHARE = 0.014  # accounts per arm, of n_leads: 280 at 20,000 leads
ACCOUNT_CONTROL_RATE = 0.05  # mean 30-day SQL chance of the control arm (calibrated)
ACCOUNT_ODDS_RATIO = {"software": 6.0, "other": 2.5}  # the SDR call's effect, by industry
ACCOUNT_ACTIVITY_BETA = 1.5  # log-odds per SD of log(1 + events in the 90 days before)
ACCOUNT_SD = 0.3  # SD of the account's random effect on the log-odds (the ICC)
COMPETITOR_DOMAINS = ("rivalcrm.example", "pipelinepro.example")
TARGET_INDUSTRIES = ("software", "manufacturing", "financial_services")
SOURCES = ("webinar", "paid_search", "organic", "referral", "events", "partner")
PLACEHOLDERS = ("Select", "-")
DATA_PROBLEM_SHARE = 0.003  # per kind of problem, share of n_leads
LEAD_GENERATION_MONTHLY = 90_000.0
NURTURE_MONTHLY = 12_000.0
DEFAULT_LEADS = 20_000

TRUTH: dict[str, Any] = {
    "kinds": dict(zip(KINDS, KIND_SHARES, strict=True)),
    "as_of": "2026-06-30",
    "new_lead_days": NEW_LEAD_DAYS,
    "nurture_start": "2025-10-01",
    "nurture_lift": NURTURE_LIFT,  # old leads' SQL hazard multiplier from nurture_start on
    "old_hazard_decay_days": OLD_HAZARD_DECAY_DAYS,
    "competitor_domains": list(COMPETITOR_DOMAINS),
    "target_industries": list(TARGET_INDUSTRIES),
    "abm_share": 0.10,
    "lead_to_sql_range": (0.04, 0.06),  # share of all leads with an SQL row by as_of
    "lead_to_mql_range": (0.15, 0.25),
    # share of SQLs (by SQL date) that come from old leads (>= 30 days since creation):
    "share_old_before_nurture_range": (0.15, 0.40),  # 2025-01 .. 2025-09 (base still filling)
    "share_old_q3_2025_range": (0.2, 0.5),  # the quarter before nurture: about 1/3
    "share_old_q4_2025_range": (0.35, 0.65),  # the quarter after: about 1/2 (article)
    "share_old_after_nurture_range": (0.5, 0.85),  # 2025-10 .. 2026-06, incl. the experiment
    "experiment": {
        "id": EXPERIMENT_ID,
        "control": "monthly_newsletter",
        "variant": "weekly_digest",
        "control_rate": EXPERIMENT_RATES["monthly_newsletter"],
        "variant_rate": EXPERIMENT_RATES["weekly_digest"],
        "effect": 0.04,
        "window_days": 30,
        "per_arm_share_of_leads": EXPERIMENT_SHARE_PER_ARM,
    },
    "account_experiment": {
        "id": ACCOUNT_EXPERIMENT_ID,
        "control": ACCOUNT_EXPERIMENT_ARMS[0],
        "variant": ACCOUNT_EXPERIMENT_ARMS[1],
        "control_rate": ACCOUNT_CONTROL_RATE,
        "odds_ratio": dict(ACCOUNT_ODDS_RATIO),
        "activity_beta": ACCOUNT_ACTIVITY_BETA,
        "account_sd": ACCOUNT_SD,
        "window_days": 30,
        "accounts_per_arm_share_of_leads": ACCOUNT_EXPERIMENT_SHARE,
    },
    "data_problem_share_each": DATA_PROBLEM_SHARE,
    "score_auc_range": (0.6, 0.7),  # DEMO_RULES score at as_of vs reached SQL (about 0.63)
}

STAGE_LABELS = {
    "lead": "Lead",
    "mql": "Marketing Qualified",
    "sql": "Sales Qualified",
    "opportunity": "Opportunity",
    "customer": "Closed Won",
    "lost": "Closed Lost",
}
FUNNEL_ALIASES = {label: stage for stage, label in STAGE_LABELS.items()}

# The demo scoring rules (params/scoring_rules.yaml holds exactly this, as YAML).
DEMO_RULES: dict[str, Any] = {
    "categories": {
        "tags": {"cap": 40},
        "content": {"cap": 40},
        "behaviour": {"cap": 30},
        "profile": {"cap": 20},
    },
    "rules": [
        {
            "name": "decision maker",
            "category": "tags",
            "when": {"event_type": "tag_added", "value": "decision_maker"},
            "points": 10,
            "once": True,
        },
        {
            "name": "asked for pricing or a demo",
            "category": "tags",
            "when": {"event_type": "tag_added", "value": ["pricing_request", "demo_request"]},
            "points": 10,
            "once": True,
        },
        {
            "name": "newsletter subscriber",
            "category": "tags",
            "when": {"event_type": "tag_added", "value": "newsletter"},
            "points": 5,
            "once": True,
        },
        {
            "name": "student",
            "category": "tags",
            "when": {"event_type": "tag_added", "value": "student"},
            "points": -10,
            "once": True,
        },
        {
            "name": "content read",
            "category": "content",
            "when": {"event_type": "content_read"},
            "points": 1,
            "cap": 20,
            "window_days": 180,
        },
        {
            "name": "long read",
            "category": "content",
            "when": {"event_type": "content_read", "min_duration_s": 180},
            "points": 3,
            "cap": 30,
            "half_life_days": 60,
        },
        {
            "name": "joined community group",
            "category": "behaviour",
            "when": {"event_type": "group_join"},
            "points": 5,
            "cap": 10,
        },
        {
            "name": "left community group",
            "category": "behaviour",
            "when": {"event_type": "group_leave"},
            "points": -5,
        },
        {
            "name": "opened pricing page",
            "category": "behaviour",
            "when": {"event_type": "link_open", "value": "pricing_page"},
            "points": 5,
            "once": True,
        },
        {
            "name": "contact sales form",
            "category": "behaviour",
            "when": {"event_type": "form_submit", "value": "contact_sales"},
            "points": 5,
            "once": True,
        },
        {
            "name": "event attended",
            "category": "behaviour",
            "when": {"event_type": "event_attended"},
            "points": 5,
            "cap": 15,
        },
        {
            "name": "phone filled",
            "category": "profile",
            "when": {"field": "phone", "present": True},
            "points": 5,
        },
        {
            "name": "company filled",
            "category": "profile",
            "when": {"field": "company", "present": True},
            "points": 4,
        },
        {
            "name": "job title filled",
            "category": "profile",
            "when": {"field": "title", "present": True},
            "points": 4,
        },
        {
            "name": "target industry",
            "category": "profile",
            "when": {"field": "industry", "in": list(TARGET_INDUSTRIES)},
            "points": 5,
        },
    ],
}

# The demo experiment's pre-registration (same keys as params/experiments/*.yaml).
DEMO_EXPERIMENT: dict[str, Any] = {
    "id": EXPERIMENT_ID,
    "hypothesis": (
        "Leads that receive a weekly digest instead of the monthly newsletter reach SQL more "
        "often within 30 days of assignment, because they see relevant content while their need "
        "is fresh."
    ),
    "variable": "email cadence (monthly newsletter vs weekly digest); content, audience and "
    "sender unchanged",
    "control": "monthly_newsletter",
    "variants": ["weekly_digest"],
    "allocation": {"monthly_newsletter": 0.5, "weekly_digest": 0.5},
    "primary_metric": {"stage": "sql", "window_days": 30},
    "guardrail_metrics": [
        {"stage": "mql", "window_days": 30, "worse_if": "lower"},
        {"stage": "lost", "window_days": 30, "worse_if": "higher"},
    ],
    "baseline_rate": 0.08,
    "target_effect": 0.025,
    "alpha": 0.05,
    "power": 0.8,
    "planned_n_per_arm": 2500,
    "start": "2026-01-05",
    "end": "2026-03-29",
    "decision_rule": (
        "Ship the weekly digest if the 30-day SQL rate is higher with p < 0.05 at the final read "
        "(after 2026-04-28, when the last enrolled lead's window has closed), no guardrail gets "
        "significantly worse, and the sample ratio check passes; otherwise keep the monthly "
        "newsletter."
    ),
    "owner": "marketing ops",
}

# --------------------------------------------------------------------------------------------
# Vocabularies

EVENT_TYPES = (
    "content_read",
    "group_join",
    "group_leave",
    "link_open",
    "form_submit",
    "event_signup",
    "event_attended",
    "email_open",
    "email_click",
)
TAGS = ("decision_maker", "pricing_request", "demo_request", "competitor", "student", "newsletter")
LINKS = ("pricing_page", "case_study", "docs", "blog")
FORMS = ("contact_sales", "whitepaper", "webinar")
N_CONTENT = 240
N_GROUPS = 12
INDUSTRIES = (
    "software",
    "manufacturing",
    "financial_services",
    "healthcare",
    "retail",
    "education",
    "logistics",
    "public_sector",
    "other",
)
INDUSTRY_P = (0.22, 0.18, 0.12, 0.1, 0.1, 0.07, 0.08, 0.05, 0.08)
COUNTRIES = ("DE", "US", "GB", "FR", "NL", "SE", "ES", "IT", "PL", "CH", "AT")
COUNTRY_P = (0.24, 0.2, 0.13, 0.09, 0.07, 0.05, 0.05, 0.05, 0.04, 0.04, 0.04)
DIAL = ("+49", "+1", "+44", "+33", "+31", "+46", "+34", "+39", "+48", "+41", "+43")
FIRST = (
    "Anna Ben Clara David Elena Felix Greta Hugo Ida Jonas Karin Lukas Maria Nils Olivia Paul "
    "Quentin Rosa Sven Tara Uwe Vera Willem Xenia Yusuf Zoe Amir Bianca Carlos Dana Emil Fatima "
    "Georg Hanna Igor Julia Kenji Lea Marco Nora"
).split()
LAST = (
    "Adler Berg Costa Dahl Eriksen Fischer Garcia Hansen Ito Jansen Keller Lang Meyer Novak "
    "Olsen Petrov Quinn Rossi Schmidt Torres Ulrich Vogel Weber Young Zimmer Baker Carter Dubois "
    "Evans Fuchs Gomez Hoffmann Iversen Jung Kowalski Larsen Moreau Nilsson Ortiz Peters"
).split()
PREFIX = (
    "Nord Alpen Blue River Stone Bright Clear Delta Evergreen Falcon Granite Harbor Iron "
    "Juniper Kestrel Linden Maple North Oak Pine Quartz Red Silver Summit Terra Union Vista "
    "West Zephyr Amber Cedar Coral Forge Helix Lumen Nova Orbit Polar Sun Tide"
).split()
CORE = (
    "Data Systems Works Logistics Analytics Labs Machines Finance Health Retail Software "
    "Robotics Energy Capital Foods Motors Networks Pharma Metals Textiles Learning Media "
    "Cloud Security Print Tools Freight Insurance Bank Foundry"
).split()
FORM_OF = ("GmbH", "Inc.", "Ltd", "AG", "BV", "SA", "AB", "")
TITLES = (
    "CEO",
    "CTO",
    "Head of Sales",
    "Marketing Manager",
    "Data Analyst",
    "IT Director",
    "Operations Manager",
    "Procurement Lead",
    "Consultant",
    "Engineer",
    "VP Finance",
    "Founder",
)

# Per-kind parameters (order of KINDS: high_intent, engaged, competitor, cold)
SOURCE_P = np.array(
    [
        # webinar paid_search organic referral events partner
        [0.08, 0.32, 0.2, 0.22, 0.08, 0.1],
        [0.28, 0.14, 0.26, 0.06, 0.18, 0.08],
        [0.3, 0.06, 0.38, 0.02, 0.2, 0.04],
        [0.1, 0.3, 0.34, 0.05, 0.09, 0.12],
    ]
)
P_NEW = np.array([0.30, 0.01, 0.0, 0.0025])  # P(SQL within 30 days of creation)
NEW_DELAY_DAYS = np.array([6.0, 14.0, 14.0, 14.0])  # exponential mean, folded into 30 days
OLD_HAZARD = 0.00007  # per day at age 30 days, before nurture, for weight 1
OLD_WEIGHT = np.array([1.5, 3.0, 0.0, 0.35])
EXP_WEIGHT = np.array([1.8, 1.5, 0.0, 0.8])  # relative 30-day SQL odds inside the experiment
P_MQL = np.array([0.8, 0.33, 0.6, 0.04])
MQL_DELAY_DAYS = np.array([2.0, 45.0, 25.0, 60.0])
EVENTS_MEAN = np.array([7.0, 38.0, 125.0, 6.5])  # generic events per lead (before exposure)
EVENTS_SHAPE = 0.7  # gamma shape of the per-lead activity multiplier (heavy tail)
ACTIVITY_POWER = 0.8  # old-lead SQL hazard grows with activity**ACTIVITY_POWER
EVENT_SCALE_DAYS = np.array([15.0, 150.0, 180.0, 90.0])  # spread of events after creation
TYPE_P = np.array(
    [
        # read  gjoin gleave link  form  signup attend open  click
        [0.14, 0.01, 0.005, 0.25, 0.15, 0.03, 0.015, 0.3, 0.1],
        [0.36, 0.04, 0.01, 0.12, 0.04, 0.06, 0.04, 0.24, 0.09],
        [0.46, 0.05, 0.005, 0.15, 0.05, 0.06, 0.04, 0.135, 0.05],
        [0.15, 0.01, 0.02, 0.12, 0.03, 0.03, 0.01, 0.55, 0.08],
    ]
)
LINK_P = np.array(
    [[0.55, 0.2, 0.15, 0.1], [0.1, 0.3, 0.25, 0.35], [0.25, 0.25, 0.3, 0.2], [0.08, 0.12, 0.2, 0.6]]
)
FORM_P = np.array([[0.6, 0.25, 0.15], [0.05, 0.5, 0.45], [0.05, 0.55, 0.4], [0.02, 0.6, 0.38]])
READ_MEDIAN_S = np.array([50.0, 200.0, 320.0, 35.0])
TAG_P = np.array(
    [
        # decision pricing demo competitor student newsletter
        [0.35, 0.6, 0.45, 0.0, 0.0, 0.15],
        [0.15, 0.04, 0.03, 0.0, 0.06, 0.6],
        [0.1, 0.25, 0.2, 0.5, 0.0, 0.7],
        [0.05, 0.01, 0.01, 0.0, 0.06, 0.2],
    ]
)
MISSING_P = {  # share of leads with the field empty, per kind
    "phone": np.array([0.2, 0.45, 0.65, 0.6]),
    "company": np.array([0.05, 0.1, 0.3, 0.15]),
    "title": np.array([0.1, 0.3, 0.4, 0.45]),
    "name": np.array([0.0, 0.03, 0.08, 0.06]),
    "industry": np.array([0.04, 0.06, 0.1, 0.1]),
    "country": np.array([0.02, 0.03, 0.05, 0.04]),
}
PLACEHOLDER_FOR = {"phone": "-", "title": "Select", "industry": "Select"}  # share 1/3 of missing

_US_PER_DAY = 86_400_000_000
_US_PER_S = 1_000_000
_NEVER = np.iinfo(np.int64).max


# --------------------------------------------------------------------------------------------
# Small vectorised helpers


def _us(ts: pd.Timestamp) -> int:
    return int(np.datetime64(ts.to_datetime64(), "us").astype(np.int64))


def _to_dt(us: np.ndarray) -> np.ndarray:
    """Integer microseconds (``_NEVER`` = missing) to ``datetime64[us]`` with NaT."""
    out = np.asarray(us, dtype=np.int64).copy()
    out[out == _NEVER] = np.iinfo(np.int64).min  # NaT
    return out.view("datetime64[us]")


def _str_series(arr: pa.Array) -> pd.Series:
    """A pyarrow string array as a pandas "str" Series (large_string: no copy)."""
    return pd.Series(arr.cast(pa.large_string()), dtype="str")


def _str_take(vocab: Any, codes: np.ndarray) -> pd.Series:
    """Strings ``vocab[codes]`` as a pandas "str" Series; code -1 is missing. Uses pyarrow take."""
    if isinstance(vocab, pa.Array):
        arr = vocab.cast(pa.large_string())
    else:
        arr = pa.array(list(vocab), type=pa.large_string())
    codes = np.asarray(codes)
    mask = codes < 0
    if mask.any():
        idx = pa.array(np.where(mask, 0, codes).astype(np.int32), mask=mask)
    else:
        idx = pa.array(codes.astype(np.int32, copy=False))
    return _str_series(arr.take(idx))


def _pick(rng: np.random.Generator, kind: np.ndarray, table: np.ndarray) -> np.ndarray:
    """For each row, a category index drawn with the probabilities ``table[kind]`` (loop on kinds)."""
    out = np.zeros(len(kind), dtype=np.int16)
    for k in range(table.shape[0]):
        m = np.flatnonzero(kind == k)
        if len(m):
            p = table[k] / table[k].sum()
            out[m] = rng.choice(table.shape[1], size=len(m), p=p)
    return out


def _join(*parts: Any, sep: str = "") -> pa.Array:
    """Element-wise string concatenation of pyarrow arrays / scalars."""
    return pc.binary_join_element_wise(*parts, sep)


def _ids(prefix: str, n: int, width: int) -> pa.Array:
    num = pa.array(np.arange(1, n + 1)).cast(pa.string())
    return _join(prefix, pc.utf8_lpad(num, width, "0"))


# The account-level experiment's pre-registration (params/experiments/ holds the same, as YAML).
DEMO_ACCOUNT_EXPERIMENT: dict[str, Any] = {
    "id": ACCOUNT_EXPERIMENT_ID,
    "hypothesis": (
        "An SDR call to the account of old MQLs that have not reached SQL gets more of them to "
        "SQL within 30 days than the nurture e-mails alone, most of all in software companies."
    ),
    "variable": "SDR call to the account (in addition to the usual nurture e-mails)",
    "control": ACCOUNT_EXPERIMENT_ARMS[0],
    "variants": [ACCOUNT_EXPERIMENT_ARMS[1]],
    "allocation": {ACCOUNT_EXPERIMENT_ARMS[0]: 0.5, ACCOUNT_EXPERIMENT_ARMS[1]: 0.5},
    "primary_metric": {"stage": "sql", "window_days": 30},
    "baseline_rate": ACCOUNT_CONTROL_RATE,
    "target_effect": 0.08,
    "alpha": 0.05,
    "power": 0.8,
    "planned_n_per_arm": 380,
    "start": "2026-02-02",
    "end": "2026-04-26",
    "decision_rule": (
        "Read every week with the always-valid interval; stop and roll SDR calls out to every "
        "account once the interval excludes 0 upwards, stop the calls if it excludes 0 "
        "downwards; otherwise decide at the planned n."
    ),
    "owner": "sales development",
    "analysis": "sequential",
    "unit": "account",
    "covariates": ["log_events_before_90d"],
    "segments": ["industry"],
}

# --------------------------------------------------------------------------------------------
# The story, one step per function
#
# Design. Every step takes the random generator ``rng`` and draws from it in a fixed order, and
# :func:`generate` calls the steps in story order. The draw order is part of the data: one more
# draw, or two steps swapped, changes every table drawn after it. A new draw therefore goes at
# the end of :func:`generate` (after the orders) if seed 42 must keep its tables.
# Per-lead arrays are indexed by lead position (0 .. n-1); dates are int64 microseconds since
# the epoch with ``_NEVER`` for "did not happen by as_of".

_HIGH_INTENT = KINDS.index("high_intent")
_COMPETITOR = KINDS.index("competitor")


@dataclass(frozen=True)
class _Accounts:
    """The accounts leads belong to; positions 0 and 1 are the two competitor firms."""

    ids: pa.Array  # "A000001", ...
    company: pa.Array
    domain: pa.Array  # e-mail domain
    industry: np.ndarray  # codes into INDUSTRIES
    country: np.ndarray  # codes into COUNTRIES
    abm: np.ndarray  # bool: on the ABM target list


@dataclass(frozen=True)
class _Profiles:
    """Per-lead CRM profile fields before any cell is blanked (see :func:`_leads_table`)."""

    lead_ids: pa.Array  # "L0000001", ...
    name: pa.Array
    email: pa.Array
    phone: pa.Array
    title: np.ndarray  # codes into TITLES
    source: np.ndarray  # codes into SOURCES


@dataclass(frozen=True)
class _Experiment:
    """The demo experiment's enrolment: ``chosen`` leads in draw order, one arm each."""

    chosen: np.ndarray  # lead positions
    arm: np.ndarray  # 0 control (monthly_newsletter), 1 variant (weekly_digest)
    assigned_at: np.ndarray  # microseconds, per chosen lead
    in_exp: np.ndarray  # bool per lead


@dataclass(frozen=True)
class _StageDates:
    """When each lead entered each stage (microseconds, ``_NEVER`` = not by as_of)."""

    lead: np.ndarray  # created_at
    mql: np.ndarray
    sql: np.ndarray
    opportunity: np.ndarray
    customer: np.ndarray  # won
    lost: np.ndarray


@dataclass(frozen=True)
class _EventRows:
    """Events before their values: generic events first, then tag events, then forms."""

    lead: np.ndarray  # int32 lead positions
    ts: np.ndarray  # microseconds
    etype: np.ndarray  # int8 codes into ("tag_added", *EVENT_TYPES)
    n_generic: int
    n_tags: int
    tag_code: np.ndarray  # codes into TAGS of the tag events
    tag_flag: np.ndarray  # (n, len(TAGS)) bool: the lead carries the tag


def _old_start(created: np.ndarray) -> np.ndarray:
    """The moment each lead becomes "old" (NEW_LEAD_DAYS after creation)."""
    return created + NEW_LEAD_DAYS * _US_PER_DAY


def _draw_arrivals(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Step 1, leads arrive: creation times and hidden kinds.

    Inflow grows about 35% over the span, with a mild annual season and quiet weekends; leads
    arrive in working hours. Draws: creation day, time of day, kind.

    Returns
    -------
    created : int64 microseconds per lead, sorted.
    kind : int8 codes into :data:`KINDS`.
    """
    days = pd.date_range(START, AS_OF - pd.Timedelta(days=1), freq="D")
    t = np.arange(len(days)) / len(days)
    season = 1 + 0.12 * np.cos(2 * np.pi * (days.day_of_year.to_numpy() - 75) / 365.25)
    weekday = np.where(days.day_of_week.to_numpy() >= 5, 0.35, 1.0)
    w = (1 + 0.35 * t) * season * weekday
    day_idx = np.sort(rng.choice(len(days), size=n, p=w / w.sum()))
    tod = rng.integers(7 * 3600, 19 * 3600, size=n)  # seconds in the working day
    created = _us(START) + day_idx.astype(np.int64) * _US_PER_DAY + tod * _US_PER_S
    kind = rng.choice(len(KINDS), size=n, p=np.array(KIND_SHARES)).astype(np.int8)
    return created, kind


def _draw_membership(
    rng: np.random.Generator, kind: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Step 2, leads join accounts: about four leads per account, heavy-tailed.

    60% of competitors write from one of the two rival firms (accounts 0 and 1). Draws: account
    order, account per lead, rival or not, which rival.

    Returns
    -------
    account : account position per lead.
    to_rival : bool per lead, a competitor at one of the rival firms.
    n_accounts : number of accounts, the two rival firms included.
    """
    n = len(kind)
    n_acc = max(4, n // 4)
    acc_weight = 1.0 / (np.arange(n_acc) + 8.0) ** 0.9
    acc_order = rng.permutation(n_acc)
    account = acc_order[rng.choice(n_acc, size=n, p=acc_weight / acc_weight.sum())] + 2
    to_rival = (kind == _COMPETITOR) & (rng.random(n) < 0.6)
    account[to_rival] = rng.integers(0, 2, size=int(to_rival.sum()))  # the two competitor firms
    return account, to_rival, n_acc + 2


def _draw_accounts(rng: np.random.Generator, n_accounts: int) -> _Accounts:
    """Step 3, the accounts: company name, e-mail domain, industry, country, ABM list.

    The rival firms are software companies with their own domains and never on the ABM list;
    10% of the other accounts are. Draws: name prefix, core, legal form, industry, country, ABM.
    """
    acc_ids = _ids("A", n_accounts, 6)
    pre = rng.integers(0, len(PREFIX), n_accounts)
    core = rng.integers(0, len(CORE), n_accounts)
    form = rng.integers(0, len(FORM_OF), n_accounts)
    pre_a, core_a = pa.array(PREFIX).take(pa.array(pre)), pa.array(CORE).take(pa.array(core))
    company = pc.utf8_trim_whitespace(
        _join(pre_a, core_a, pa.array(FORM_OF).take(pa.array(form)), sep=" ")
    )
    slug = pc.utf8_lower(_join(pre_a, core_a))
    domain = _join(slug, "-", pc.utf8_slice_codeunits(acc_ids, 1), ".example")
    company = pa.concat_arrays([pa.array(["RivalCRM Inc.", "PipelinePro Ltd"]), company[2:]])
    domain = pa.concat_arrays([pa.array(list(COMPETITOR_DOMAINS)), domain[2:]])
    industry = rng.choice(len(INDUSTRIES), size=n_accounts, p=INDUSTRY_P)
    industry[:2] = 0  # competitors are software firms
    country = rng.choice(len(COUNTRIES), size=n_accounts, p=COUNTRY_P)
    abm = rng.random(n_accounts) < TRUTH["abm_share"]
    abm[:2] = False
    return _Accounts(acc_ids, company, domain, industry, country, abm)


def _draw_profiles(
    rng: np.random.Generator,
    kind: np.ndarray,
    account: np.ndarray,
    to_rival: np.ndarray,
    accounts: _Accounts,
) -> _Profiles:
    """Step 4, the lead's profile: name, e-mail, phone, job title, source.

    E-mails use the account's domain, except competitors outside the rival firms, who write from
    a personal mailbox; the phone's dialling code is the account's country. Draws: first name,
    last name, phone number, title, source (by kind, :data:`SOURCE_P`).
    """
    n = len(kind)
    lead_ids = _ids("L", n, 7)
    first = rng.integers(0, len(FIRST), n)
    last = rng.integers(0, len(LAST), n)
    first_a, last_a = pa.array(FIRST).take(pa.array(first)), pa.array(LAST).take(pa.array(last))
    name = _join(first_a, last_a, sep=" ")
    personal = (kind == _COMPETITOR) & ~to_rival
    lead_domain = accounts.domain.take(pa.array(account))
    lead_domain = pc.if_else(pa.array(personal), "mailbox.example", lead_domain)
    local = pc.utf8_lower(_join(first_a, ".", last_a, pc.utf8_slice_codeunits(lead_ids, 5)))
    email = _join(local, "@", lead_domain)
    dial = pa.array(DIAL).take(pa.array(accounts.country[account]))
    phone_num = pa.array(rng.integers(100_000_000, 999_999_999, n)).cast(pa.string())
    phone = _join(dial, phone_num, sep=" ")
    title = rng.integers(0, len(TITLES), n)
    source = _pick(rng, kind, SOURCE_P)
    return _Profiles(lead_ids, name, email, phone, title, source)


def _draw_sql_dates(
    rng: np.random.Generator, created: np.ndarray, kind: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Step 5, natural conversion to SQL (before the experiment touches anyone).

    A new lead converts within 30 days with probability :data:`P_NEW` of its kind; an old lead
    has a hazard that fades with age (time constant :data:`OLD_HAZARD_DECAY_DAYS`), is
    multiplied by :data:`NURTURE_LIFT` from :data:`NURTURE_START`, and grows with the lead's
    activity. The old-lead time is drawn by inverting the cumulative hazard. Draws: activity,
    new or not, new-lead delay, one exponential per lead for the old-lead hazard.

    Returns
    -------
    sql : int64 microseconds per lead, ``_NEVER`` when the lead never converts; not yet cut at
        as_of.
    activity : the per-lead activity multiplier (mean 1) that also drives the event count.
    """
    n = len(kind)
    activity = rng.gamma(EVENTS_SHAPE, 1 / EVENTS_SHAPE, size=n)  # per-lead activity multiplier
    # more active leads convert more often (the score's modest predictive power comes from here)
    k_a = EVENTS_SHAPE
    mean_pow = math.gamma(k_a + ACTIVITY_POWER) / (math.gamma(k_a) * k_a**ACTIVITY_POWER)
    old_w = OLD_WEIGHT[kind] * activity**ACTIVITY_POWER / mean_pow
    is_new = rng.random(n) < P_NEW[kind]
    new_delay = rng.exponential(NEW_DELAY_DAYS[kind]) % NEW_LEAD_DAYS
    u_n = np.maximum(0.0, (_us(NURTURE_START) - _old_start(created)) / _US_PER_DAY)
    lam, tau = OLD_HAZARD * old_w, OLD_HAZARD_DECAY_DAYS
    e = rng.exponential(1.0, size=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        h_pre = lam * tau * (1 - np.exp(-u_n / tau))  # hazard accumulated before nurture
        u_pre = -tau * np.log1p(-e / (lam * tau))
        rest = np.exp(-u_n / tau) - (e - h_pre) / (NURTURE_LIFT * lam * tau)
        u_post = -tau * np.log(rest)
    u = np.where(e < h_pre, u_pre, np.where(rest > 0, u_post, np.inf))
    u = np.where(lam > 0, u, np.inf)
    sql_days = np.where(is_new, new_delay, NEW_LEAD_DAYS + u)
    sql = np.full(n, _NEVER, dtype=np.int64)
    fin = np.isfinite(sql_days) & (sql_days < 10_000)
    sql[fin] = created[fin] + (sql_days[fin] * _US_PER_DAY).astype(np.int64)
    return sql, activity


def _run_experiment(
    rng: np.random.Generator, kind: np.ndarray, created: np.ndarray, sql: np.ndarray
) -> tuple[_Experiment, np.ndarray]:
    """Step 6, the demo experiment: old leads not yet SQL are assigned in Q1 2026.

    Each lead gets a candidate assignment moment in the experiment's span; of those old and not
    yet SQL at that moment, :data:`EXPERIMENT_SHARE_PER_ARM` of ``n`` per arm are chosen,
    exactly half per arm. A chosen lead converts within its 30-day window with its arm's rate
    (weighted by kind, :data:`EXP_WEIGHT`); one that does not keeps its natural SQL date, pushed
    past the window. Draws: candidate day, time of day, the chosen leads, converts or not, day
    in the window.

    Returns
    -------
    experiment : the enrolment.
    sql : the SQL dates after the experiment, cut at as_of (``_NEVER`` from as_of on) and
        rounded down to whole seconds.
    """
    n = len(kind)
    exp_start = _us(EXPERIMENT_START)
    span_days = (EXPERIMENT_END - EXPERIMENT_START).days + 1
    cand_day = rng.integers(0, span_days, n)
    assigned = exp_start + cand_day * _US_PER_DAY + rng.integers(8 * 3600, 18 * 3600, n) * _US_PER_S
    assigned -= assigned % _US_PER_S
    eligible = np.flatnonzero((_old_start(created) <= assigned) & (sql > assigned))
    n_arm = min(round(EXPERIMENT_SHARE_PER_ARM * n), len(eligible) // 2)
    chosen = rng.permutation(eligible)[: 2 * n_arm]
    arm = np.zeros(len(chosen), dtype=np.int8)
    arm[n_arm:] = 1  # exactly half per arm
    window = 30 * _US_PER_DAY
    p_i = np.empty(len(chosen))
    for a, rate in enumerate(EXPERIMENT_RATES.values()):
        m = arm == a
        wk = EXP_WEIGHT[kind[chosen[m]]]
        # an arm of competitors only (tiny samples) has weight 0: p is NaN, nobody converts
        with np.errstate(invalid="ignore"):
            p_i[m] = np.minimum(1.0, rate * wk / wk.mean()) if len(wk) else 0.0
    conv = rng.random(len(chosen)) < p_i
    in_window = rng.uniform(0.02, 29.9, len(chosen))
    a_at = assigned[chosen]
    nat = sql[chosen]
    pushed = np.where(nat <= a_at + window, nat + window, nat)  # nat < _NEVER there
    sql = sql.copy()
    sql[chosen] = np.where(conv, a_at + (in_window * _US_PER_DAY).astype(np.int64), pushed)
    in_exp = np.zeros(n, dtype=bool)
    in_exp[chosen] = True
    sql[sql >= _us(AS_OF)] = _NEVER
    has_sql = sql != _NEVER
    sql[has_sql] -= sql[has_sql] % _US_PER_S  # whole seconds, like every date written
    return _Experiment(chosen, arm, a_at, in_exp), sql


def _later(
    rng: np.random.Generator, base: np.ndarray, p: float, lo: float, mean: float, ok: np.ndarray
) -> np.ndarray:
    """A next stage: reached by leads ``ok`` with probability ``p``, ``lo`` + Exp(``mean``) days
    after ``base``; ``_NEVER`` when not reached by as_of. Draws: reached or not, delay."""
    n = len(base)
    hit = ok & (rng.random(n) < p)
    d = ((lo + rng.exponential(mean, n)) * _US_PER_DAY).astype(np.int64)
    out = np.where(hit, base + d, _NEVER)
    out[out >= _us(AS_OF)] = _NEVER
    return out


def _draw_other_stages(
    rng: np.random.Generator,
    kind: np.ndarray,
    created: np.ndarray,
    sql: np.ndarray,
    experiment: _Experiment,
) -> _StageDates:
    """Step 7, the rest of the funnel: MQL, opportunity, won, lost.

    MQL by kind (:data:`P_MQL`, :data:`MQL_DELAY_DAYS`), and always before an SQL; 55% of SQLs
    open an opportunity, 35% of those are won, most others lost; some MQLs and SQLs that go no
    further are lost. An enrolled lead is never lost before its assignment. Draws: MQL delay,
    MQL or not, MQL moment for SQLs, then :func:`_later` for opportunity, won, lost after an
    opportunity, after an SQL, after an MQL, then the moved loss dates of enrolled leads.
    """
    n = len(kind)
    as_of_us = _us(AS_OF)
    has_sql = sql != _NEVER
    mql_days = rng.exponential(MQL_DELAY_DAYS[kind])
    mql = np.where(
        rng.random(n) < P_MQL[kind], created + (mql_days * _US_PER_DAY).astype(np.int64), _NEVER
    )
    fix_mql = has_sql & ((mql == _NEVER) | (mql > sql))
    frac = rng.uniform(0.05, 0.95, n)
    mql = np.where(fix_mql, created + ((sql - created) * frac).astype(np.int64), mql)
    mql[mql >= as_of_us] = _NEVER
    has_mql = mql != _NEVER

    opp = _later(rng, sql, 0.55, 1, 10, has_sql)
    won = _later(rng, opp, 0.35, 5, 40, opp != _NEVER)
    lost_opp = _later(rng, opp, 0.85, 5, 45, (opp != _NEVER) & (won == _NEVER))
    lost_sql = _later(rng, sql, 0.3, 3, 30, has_sql & (opp == _NEVER))
    lost_mql = _later(rng, mql, 0.25, 10, 60, has_mql & ~has_sql)
    # an assigned lead was not lost before its assignment: move such dates after it
    a_full = np.full(n, _NEVER, dtype=np.int64)
    a_full[experiment.chosen] = experiment.assigned_at
    early = experiment.in_exp & (lost_mql != _NEVER) & (lost_mql <= a_full)
    lost_mql[early] = a_full[early] + (rng.exponential(45, int(early.sum())) * _US_PER_DAY).astype(
        np.int64
    )
    lost_mql[lost_mql >= as_of_us] = _NEVER
    lost = np.minimum(np.minimum(lost_opp, lost_sql), lost_mql)
    return _StageDates(created, mql, sql, opp, won, lost)


def _stage_history(
    rng: np.random.Generator, dates: _StageDates, lead_ids: pa.Array, in_exp: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray]:
    """Step 8, the stage history (long form) with the deliberate data problems.

    :data:`DATA_PROBLEM_SHARE` of ``n`` leads each get an MQL row dated before creation (leads
    that reached MQL only), no MQL row although they reached SQL, or one stage row twice; no
    enrolled lead gets a problem. Draws: the leads of each problem, in that order.

    Returns
    -------
    stages : DataFrame with columns lead_id, stage (CRM label, :data:`STAGE_LABELS`),
        entered_at; sorted by lead, time, stage.
    problem : int8 per lead: 0 none, 1 stage_before_created, 2 duplicate_stage_row,
        3 skipped_mql.
    """
    n = len(dates.lead)
    start_us = _us(START)
    has_mql, has_sql = dates.mql != _NEVER, dates.sql != _NEVER
    problem = np.zeros(n, dtype=np.int8)
    k = round(DATA_PROBLEM_SHARE * n)
    early_pool = np.flatnonzero(has_mql & ~has_sql & ~in_exp)
    early_ids = rng.choice(early_pool, size=min(k, len(early_pool)), replace=False)
    problem[early_ids] = 1
    skip_pool = np.flatnonzero(has_sql & has_mql & ~in_exp)
    skip_ids = rng.choice(skip_pool, size=min(k, len(skip_pool)), replace=False)
    problem[skip_ids] = 3
    mql_row = dates.mql.copy()
    created = dates.lead
    day0 = created - (created - start_us) % _US_PER_DAY  # midnight of the creation day
    mql_row[early_ids] = day0[early_ids] - _US_PER_DAY + 15 * 3600 * _US_PER_S
    mql_row[skip_ids] = _NEVER

    parts = [("lead", created), ("mql", mql_row), ("sql", dates.sql)]
    parts += [("opportunity", dates.opportunity), ("customer", dates.customer)]
    parts += [("lost", dates.lost)]
    st_lead, st_code, st_at = [], [], []
    for code, (_, stage_at) in enumerate(parts):
        idx = np.flatnonzero(stage_at != _NEVER)
        st_lead.append(idx)
        st_code.append(np.full(len(idx), code, dtype=np.int8))
        st_at.append(stage_at[idx])
    st_lead_a, st_code_a, st_at_a = map(np.concatenate, (st_lead, st_code, st_at))
    dup_pool = np.flatnonzero((problem[st_lead_a] == 0) & (st_code_a > 0))
    dup_rows = rng.choice(dup_pool, size=min(k, len(dup_pool)), replace=False)
    problem[st_lead_a[dup_rows]] = 2
    st_lead_a = np.concatenate([st_lead_a, st_lead_a[dup_rows]])
    st_code_a = np.concatenate([st_code_a, st_code_a[dup_rows]])
    st_at_a = np.concatenate([st_at_a, st_at_a[dup_rows]])
    st_key = (st_lead_a.astype(np.int64) << 29) | (
        ((st_at_a - start_us) // _US_PER_S + 86_400) << 3
    )
    order = np.argsort(st_key | st_code_a, kind="stable")
    st_at_a -= st_at_a % _US_PER_S
    labels = [STAGE_LABELS[s] for s, _ in parts]
    stages = pd.DataFrame(
        {
            "lead_id": _str_take(lead_ids, st_lead_a[order]),
            "stage": _str_take(labels, st_code_a[order]),
            "entered_at": _to_dt(st_at_a[order]),
        }
    )
    return stages, problem


def _draw_event_rows(
    rng: np.random.Generator,
    kind: np.ndarray,
    created: np.ndarray,
    activity: np.ndarray,
    sql: np.ndarray,
) -> _EventRows:
    """Step 9, what each lead does and when: generic events, tags, high-intent forms.

    Generic events: a Poisson count per lead (mean by kind x activity x how long the lead has
    been around), split over types by a multinomial. Tags: one ``tag_added`` event per tag the
    lead carries (:data:`TAG_P`). Every high-intent lead that asked for neither pricing nor a
    demo, and 30% of the others, sends the contact-sales form. Times: exponential offsets after
    creation by kind, folded into the time left before as_of; high intent's asks come within
    days and before their SQL date, the competitor tag within about a month. Draws: generic
    count, split by type, tags, extra contact forms, offsets, high-intent offsets, competitor
    tag offsets, offsets of asks that came too late.
    """
    n = len(kind)
    as_of_us = _us(AS_OF)
    # generic events: per-lead counts (heavy-tailed), split over types by a multinomial per lead
    exposure = (as_of_us - created) / _US_PER_DAY  # days from creation to as_of
    expo_f = np.minimum(1.0, (exposure + 14) / 120) ** 0.8
    n_generic = rng.poisson(EVENTS_MEAN[kind] * activity * expo_f)
    type_p = TYPE_P / TYPE_P.sum(axis=1, keepdims=True)
    per_type = rng.multinomial(n_generic, type_p[kind])  # (n, len(EVENT_TYPES))
    n_types = len(EVENT_TYPES)
    cell = np.repeat(np.arange(n * n_types, dtype=np.int64), per_type.ravel())
    del per_type
    ev_lead_g = (cell // n_types).astype(np.int32)
    g_type_code = (cell % n_types + 1).astype(np.int8)  # +1: code 0 is tag_added
    del cell
    # tags (one event per tag) and the high-intent contact-sales form
    tag_flag = rng.random((n, len(TAGS))) < TAG_P[kind]
    hi = kind == _HIGH_INTENT
    asked = tag_flag[:, TAGS.index("pricing_request")] | tag_flag[:, TAGS.index("demo_request")]
    need_form = hi & ~asked  # every high-intent lead asks quickly
    contact_form = need_form | (hi & (rng.random(n) < 0.3))
    tag_lead, tag_code = np.nonzero(tag_flag)
    form_lead = np.flatnonzero(contact_form).astype(np.int32)
    ev_lead = np.concatenate([ev_lead_g, tag_lead.astype(np.int32), form_lead])
    n_g, n_t = len(ev_lead_g), len(tag_lead)
    del ev_lead_g
    # offsets after creation (microseconds), folded into the lead's exposure: nothing passes as_of
    off_days = rng.exponential(1.0, len(ev_lead))
    off_days *= EVENT_SCALE_DAYS[kind[ev_lead]]
    x_lead, x_kind = ev_lead[n_g:], kind[ev_lead[n_g:]]
    x_off = off_days[n_g:]  # a view: tag and form events
    quick = x_kind == _HIGH_INTENT  # high intent's asks come in the first days, before SQL
    x_off[quick] = rng.exponential(1.5, int(quick.sum()))
    comp_tag = np.zeros(len(x_lead), bool)
    comp_tag[:n_t] = tag_code == TAGS.index("competitor")
    x_off[comp_tag] = rng.exponential(30, int(comp_tag.sum()))
    q = np.flatnonzero(quick)
    sql_off = np.where(sql != _NEVER, (sql - created) / _US_PER_DAY, np.inf)[x_lead[q]]
    late = x_off[q] >= sql_off
    x_off[q[late]] = sql_off[late] * rng.uniform(0.1, 0.9, int(late.sum()))
    off_days *= 86_400
    off_s = off_days.astype(np.int64)  # whole seconds (created_at is whole seconds too)
    del off_days
    off_s %= ((as_of_us - created) // _US_PER_S)[ev_lead]
    off_s *= _US_PER_S
    ts = created[ev_lead]
    ts += off_s
    del off_s

    # event types: generic ones by kind, then tag_added, then form_submit (contact_sales)
    etype = np.empty(len(ev_lead), dtype=np.int8)
    etype[:n_g] = g_type_code
    etype[n_g : n_g + n_t] = 0
    etype[n_g + n_t :] = _EVENT_TYPE_CODES.index("form_submit")
    return _EventRows(ev_lead, ts, etype, n_g, n_t, tag_code, tag_flag)


_EVENT_TYPE_CODES = ("tag_added", *EVENT_TYPES)


def _event_vocabulary() -> tuple[list[str], dict[str, int], list[pd.Period]]:
    """Every event value in one list, the offset of each family in it, and the event months.

    The families: tags, links, forms, content ids, group ids, event (webinar) ids by month.
    """
    months = list(pd.period_range(START, AS_OF - pd.Timedelta(days=1), freq="M"))
    ev_names = [f"event-{p.strftime('%Y-%m')}" for p in months]
    contents = [f"content-{i:03d}" for i in range(1, N_CONTENT + 1)]
    groups = [f"group-{i:02d}" for i in range(1, N_GROUPS + 1)]
    vocab = [*TAGS, *LINKS, *FORMS, *contents, *groups, *ev_names]
    offset = {"tag": 0, "link": len(TAGS), "form": len(TAGS) + len(LINKS)}
    offset["content"] = offset["form"] + len(FORMS)
    offset["group"] = offset["content"] + N_CONTENT
    offset["event"] = offset["group"] + N_GROUPS
    return vocab, offset, months


def _draw_event_values(
    rng: np.random.Generator, kind: np.ndarray, rows: _EventRows
) -> tuple[np.ndarray, np.ndarray]:
    """Step 10, what each event is about: content read (and for how long), group, link, form.

    Popular content is read more often (Zipf-like); read time is log-normal around the kind's
    median (:data:`READ_MEDIAN_S`); links and forms by kind (:data:`LINK_P`, :data:`FORM_P`);
    an event signup or attendance names the month's event. Draws: content, read time, group
    joined, group left, link, form.

    Returns
    -------
    value : int32 codes into :func:`_event_vocabulary`'s list, -1 for no value.
    duration : float seconds, NaN except for content reads.
    """
    _, o, months = _event_vocabulary()
    n_g, n_t, etype = rows.n_generic, rows.n_tags, rows.etype
    value = np.full(len(rows.lead), -1, dtype=np.int32)
    value[n_g : n_g + n_t] = rows.tag_code
    value[n_g + n_t :] = o["form"]  # contact_sales
    duration = np.full(len(rows.lead), np.nan)
    g_kind = kind[rows.lead[:n_g]]
    m = np.flatnonzero(etype[:n_g] == _EVENT_TYPE_CODES.index("content_read"))
    # popular content is read more often (Zipf-like): sample from a table of 4,096 slots
    cw = 1.0 / (np.arange(N_CONTENT) + 3.0)
    slots = np.repeat(
        np.arange(N_CONTENT), np.maximum(1, np.round(cw / cw.sum() * 4096)).astype(int)
    )
    value[m] = o["content"] + slots[rng.integers(0, len(slots), len(m))]
    dur = READ_MEDIAN_S[g_kind[m]] * np.exp(0.8 * rng.standard_normal(len(m)))
    duration[m] = np.round(np.minimum(dur, 3 * 3600))
    for name_ in ("group_join", "group_leave"):
        m = np.flatnonzero(etype[:n_g] == _EVENT_TYPE_CODES.index(name_))
        value[m] = o["group"] + rng.integers(0, N_GROUPS, len(m))
    m = np.flatnonzero(etype[:n_g] == _EVENT_TYPE_CODES.index("link_open"))
    value[m] = o["link"] + _pick(rng, g_kind[m], LINK_P)
    m = np.flatnonzero(etype[:n_g] == _EVENT_TYPE_CODES.index("form_submit"))
    value[m] = o["form"] + _pick(rng, g_kind[m], FORM_P)
    month_us = np.array([_us(p.to_timestamp()) for p in months], dtype=np.int64)
    for name_ in ("event_signup", "event_attended"):
        m = np.flatnonzero(etype[:n_g] == _EVENT_TYPE_CODES.index(name_))
        value[m] = o["event"] + np.searchsorted(month_us, rows.ts[m], side="right") - 1
    return value, duration


def _events_table(
    rows: _EventRows, value: np.ndarray, duration: np.ndarray, lead_ids: pa.Array
) -> pd.DataFrame:
    """The events table (lead_id, ts, event_type, value, duration_s), by lead then time."""
    vocab, _, _ = _event_vocabulary()
    # order by lead, then time: one int64 key (lead << 26 | seconds since START; 2**26 s > 2 y)
    key = (rows.lead.astype(np.int64) << 26) | ((rows.ts - _us(START)) // _US_PER_S)
    ev_order = np.argsort(key, kind="stable")
    del key
    return pd.DataFrame(
        {
            "lead_id": _str_take(lead_ids, rows.lead[ev_order]),
            "ts": rows.ts[ev_order].view("datetime64[us]"),
            "event_type": _str_take(_EVENT_TYPE_CODES, rows.etype[ev_order]),
            "value": _str_take(vocab, value[ev_order]),
            "duration_s": duration[ev_order],
        },
        copy=False,
    )


def _leads_table(
    rng: np.random.Generator,
    kind: np.ndarray,
    created: np.ndarray,
    account: np.ndarray,
    accounts: _Accounts,
    profiles: _Profiles,
    tag_flag: np.ndarray,
) -> pd.DataFrame:
    """Step 11, the leads table as a CRM exports it, with empty and placeholder cells.

    Each profile field is empty for a share of leads by kind (:data:`MISSING_P`); for phone,
    title and industry a third of those cells hold a placeholder instead (:data:`PLACEHOLDER_FOR`).
    Draws, per field in :data:`MISSING_P` order: missing or not, placeholder or not.

    Returns
    -------
    DataFrame with columns lead_id, created_at, account_id, name, email, phone, company, title,
    industry, country, source, tags (``;``-separated, empty when none).
    """
    n = len(kind)
    tag_bits = (tag_flag * (1 << np.arange(len(TAGS)))).sum(axis=1)
    tag_strings = [
        ";".join(t for i, t in enumerate(TAGS) if b >> i & 1) or None for b in range(1 << len(TAGS))
    ]
    leads = pd.DataFrame(
        {
            "lead_id": _str_series(profiles.lead_ids),
            "created_at": created.view("datetime64[us]"),
            "account_id": _str_take(accounts.ids, account),
            "name": _str_series(profiles.name),
            "email": _str_series(profiles.email),
            "phone": _str_series(profiles.phone),
            "company": _str_take(accounts.company, account),
            "title": _str_take(TITLES, profiles.title),
            "industry": _str_take(INDUSTRIES, accounts.industry[account]),
            "country": _str_take(COUNTRIES, accounts.country[account]),
            "source": _str_take(SOURCES, profiles.source),
            "tags": _str_take(pa.array(tag_strings, type=pa.string()), tag_bits.astype(np.int32)),
        }
    )
    for col, p_miss in MISSING_P.items():
        miss = rng.random(n) < p_miss[kind]
        ph = PLACEHOLDER_FOR.get(col)
        if ph is not None:
            as_ph = miss & (rng.random(n) < 1 / 3)
            leads[col] = leads[col].mask(as_ph, ph)
            miss &= ~as_ph
        leads[col] = leads[col].mask(miss)
    return leads


def _assignments_table(experiment: _Experiment, lead_ids: pa.Array) -> pd.DataFrame:
    """The assignments table (lead_id, experiment_id, variant, assigned_at, outcome empty), in
    order of assignment."""
    variants = list(EXPERIMENT_RATES)
    a_at, chosen = experiment.assigned_at, experiment.chosen
    a_order = np.argsort(a_at, kind="stable")
    return pd.DataFrame(
        {
            "lead_id": _str_take(lead_ids, chosen[a_order]),
            "experiment_id": pd.Series([EXPERIMENT_ID] * len(chosen), dtype="str"),
            "variant": _str_take(variants, experiment.arm[a_order]),
            "assigned_at": a_at[a_order].view("datetime64[us]"),
            "outcome": np.full(len(chosen), np.nan),
        }
    )


def _draw_costs(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Step 12, the costs: monthly lead generation per channel, and nurture from its start.

    Both scale with ``n / DEFAULT_LEADS`` so the cost per SQL is the same at every size; lead
    generation trends up 12% over the span. Draws: lead-generation noise (month x channel),
    nurture noise (month).

    Returns
    -------
    DataFrame with columns period_start (first of the month), amount, program
    (lead_generation or nurture), channel (a source, or email for nurture).
    """
    scale = n / DEFAULT_LEADS
    m_starts = pd.date_range(START, AS_OF - pd.Timedelta(days=1), freq="MS")
    ch_share = np.array([0.15, 0.35, 0.1, 0.05, 0.2, 0.15])
    n_m, n_c = len(m_starts), len(SOURCES)
    trend = 0.94 + 0.12 * np.arange(n_m) / (n_m - 1)
    gen = LEAD_GENERATION_MONTHLY * scale * trend[:, None] * ch_share[None, :]
    gen = gen * rng.normal(1.0, 0.05, (n_m, n_c))
    nur_months = m_starts[m_starts >= NURTURE_START]
    nur = NURTURE_MONTHLY * scale * rng.normal(1.0, 0.03, len(nur_months))
    return pd.DataFrame(
        {
            "period_start": np.concatenate(
                [np.repeat(m_starts.to_numpy(), n_c), nur_months.to_numpy()]
            ).astype("datetime64[us]"),
            "amount": np.round(np.concatenate([gen.ravel(), nur]), 2),
            "program": pd.array(
                ["lead_generation"] * (n_m * n_c) + ["nurture"] * len(nur_months), dtype="str"
            ),
            "channel": pd.array(list(SOURCES) * n_m + ["email"] * len(nur_months), dtype="str"),
        }
    )


def _draw_orders(
    rng: np.random.Generator,
    won: np.ndarray,
    account: np.ndarray,
    accounts: _Accounts,
    lead_ids: pa.Array,
) -> pd.DataFrame:
    """Step 13, the orders: every won lead's account orders at its own rate and size.

    The first order is on the day the lead was won, the rest uniform until as_of; orders per
    month and order size are log-normal per customer. Draws: rate, number of orders, order
    days, base size, per-order size.

    Returns
    -------
    DataFrame with columns account_id, lead_id, order_date (a day), amount; by lead then date.
    """
    as_of_us = _us(AS_OF)
    cust = np.flatnonzero(won != _NEVER)
    months_active = (as_of_us - won[cust]) / (30.4 * _US_PER_DAY)
    rate = rng.lognormal(np.log(0.35), 0.9, len(cust))  # orders per month
    n_orders = 1 + rng.poisson(rate * months_active)
    o_cust = np.repeat(np.arange(len(cust)), n_orders)
    first_row = np.cumsum(n_orders) - n_orders
    o_date = won[cust][o_cust] + (
        rng.random(len(o_cust)) * (as_of_us - won[cust][o_cust] - _US_PER_DAY)
    ).astype(np.int64)
    o_date[first_row] = won[cust]  # the first order on the day it was won
    o_date -= o_date % _US_PER_DAY
    base = rng.lognormal(np.log(6000), 0.9, len(cust))
    amount = np.round(base[o_cust] * rng.lognormal(0, 0.25, len(o_cust)), 2)
    o_lead = cust[o_cust]
    o_sort = np.lexsort((o_date, o_lead))
    return pd.DataFrame(
        {
            "account_id": _str_take(accounts.ids, account[o_lead[o_sort]]),
            "lead_id": _str_take(lead_ids, o_lead[o_sort]),
            "order_date": o_date[o_sort].view("datetime64[us]"),
            "amount": amount[o_sort],
        }
    )


@dataclass(frozen=True)
class _AccountExperiment:
    """The account-level experiment: ``chosen`` leads (positions), their arm and assignment, and
    the SQL moment it gives its converters (``_NEVER`` for the others)."""

    chosen: np.ndarray
    arm: np.ndarray
    assigned_at: np.ndarray
    sql: np.ndarray


def _run_account_experiment(
    seed: int,
    kind: np.ndarray,
    created: np.ndarray,
    account: np.ndarray,
    accounts: _Accounts,
    dates: _StageDates,
    problem: np.ndarray,
    in_exp: np.ndarray,
    ev_lead: np.ndarray,
    ev_ts: np.ndarray,
) -> _AccountExperiment:
    """Step 14, the account-level experiment, from its own random stream ``(seed, 18)``.

    Each ordinary account gets a candidate assignment day in the experiment's span; its leads
    that are old by then, will not reach SQL within 30 days on their own, are not lost within
    that window, have no data problem, reached MQL before it (so the experiment adds no MQL row) and
    are not in the first experiment are eligible.
    :data:`ACCOUNT_EXPERIMENT_SHARE` of ``n`` accounts with an eligible lead go to each arm
    (all their eligible leads with them). A lead converts within its window with the
    probability ``logistic(a + log OR(arm, industry) + beta * z + u)``: ``z`` the standardised
    ``log(1 + events in the 90 days before assignment)`` (what the registered covariate
    ``events_before_90d`` counts), ``u`` the account's effect (SD :data:`ACCOUNT_SD`), the odds
    ratio of the SDR call :data:`ACCOUNT_ODDS_RATIO` (a software account's is larger: the
    declared segment ``industry`` has a different true effect), and ``a`` set so that the
    control arm's mean chance is :data:`ACCOUNT_CONTROL_RATE`; competitors never convert. A
    converter reaches SQL on a uniform day of its window (its MQL came before the assignment).
    Draws: candidate day, account order, minutes per lead, account effects, converts or not, day
    in the window.
    """
    rng = np.random.default_rng([seed, 18])
    n_acc = len(accounts.industry)
    start = _us(ACCOUNT_EXPERIMENT_START)
    span = (ACCOUNT_EXPERIMENT_END - ACCOUNT_EXPERIMENT_START).days + 1
    acc_day = rng.integers(0, span, n_acc)
    at_acc = start + acc_day * _US_PER_DAY + 9 * 3600 * _US_PER_S
    at = at_acc[account]
    window = 30 * _US_PER_DAY
    eligible = (
        (account >= 2)
        & (dates.mql <= at)
        & (_old_start(created) <= at)
        & (dates.sql > at + window)
        & (dates.lost > at + window)
        & (problem == 0)
        & ~in_exp
    )
    acc_ok = np.unique(account[eligible])
    order = rng.permutation(acc_ok)
    k = min(round(ACCOUNT_EXPERIMENT_SHARE * len(kind)), len(order) // 2)
    arm_of = np.full(n_acc, -1, dtype=np.int8)
    arm_of[order[:k]] = 0
    arm_of[order[k : 2 * k]] = 1
    chosen = np.flatnonzero(eligible & (arm_of[account] >= 0))
    arm = arm_of[account[chosen]]
    minutes = rng.integers(0, 8 * 60, len(chosen))
    a_at = at[chosen] + minutes * 60 * _US_PER_S
    # the covariate: events in the 90 days before assignment (the events table's own rows)
    pos = np.full(len(kind), -1, dtype=np.int64)
    pos[chosen] = np.arange(len(chosen))
    mine = np.flatnonzero((pos >= 0)[ev_lead])  # only the enrolled leads' events (1 byte each)
    row = pos[ev_lead[mine]]
    a_row = a_at[row]
    ts = ev_ts[mine]
    hit = (ts < a_row) & (ts >= a_row - 90 * _US_PER_DAY)
    counts = np.bincount(row[hit], minlength=len(chosen)).astype(float)
    z = np.log1p(counts)
    z = (z - z.mean()) / (z.std() or 1.0) if len(z) else z
    u_acc = rng.normal(0.0, ACCOUNT_SD, n_acc)
    soft = accounts.industry[account[chosen]] == INDUSTRIES.index("software")
    log_or = np.where(
        arm == 1,
        np.log(np.where(soft, ACCOUNT_ODDS_RATIO["software"], ACCOUNT_ODDS_RATIO["other"])),
        0.0,
    )
    lin = ACCOUNT_ACTIVITY_BETA * z + u_acc[account[chosen]]
    never = kind[chosen] == _COMPETITOR
    ctrl = (arm == 0) & ~never

    def mean_p(a: float) -> float:
        return float((1 / (1 + np.exp(-(a + lin[ctrl])))).mean()) if ctrl.any() else 0.0

    lo, hi = -12.0, 4.0  # the intercept that gives the control arm its registered rate
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mean_p(mid) < ACCOUNT_CONTROL_RATE else (lo, mid)
    p = 1 / (1 + np.exp(-((lo + hi) / 2 + log_or + lin)))
    p[never] = 0.0
    conv = rng.random(len(chosen)) < p
    day = rng.uniform(0.02, 29.9, len(chosen))
    sql = np.where(conv, a_at + (day * _US_PER_DAY).astype(np.int64), _NEVER)
    sql[sql >= _us(AS_OF)] = _NEVER
    sql[sql != _NEVER] -= sql[sql != _NEVER] % _US_PER_S
    return _AccountExperiment(chosen, arm, a_at - a_at % _US_PER_S, sql)


def _with_account_experiment(
    stages: pd.DataFrame, assignments: pd.DataFrame, exp2: _AccountExperiment, lead_ids: pa.Array
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stage history with the account experiment's converters' SQL rows (moved earlier, or
    added), and its rows appended to the assignments (in order of assignment)."""
    conv = exp2.sql != _NEVER
    ids = _str_take(lead_ids, exp2.chosen[conv])
    sql_rows = pd.DataFrame(
        {"lead_id": ids, "stage": STAGE_LABELS["sql"], "entered_at": _to_dt(exp2.sql[conv])}
    )
    moved = set(ids.tolist())
    drop = stages["lead_id"].isin(moved) & (stages["stage"] == STAGE_LABELS["sql"])
    code = {label: i for i, label in enumerate(STAGE_LABELS.values())}
    touched = stages["lead_id"].isin(moved)
    part = pd.concat([stages.loc[touched & ~drop], sql_rows], ignore_index=True)
    part = part.assign(_c=part["stage"].map(code)).sort_values(
        ["lead_id", "entered_at", "_c"], kind="stable"
    )
    rest = stages.loc[~touched]
    out = pd.concat([rest, part.drop(columns="_c")], ignore_index=True)
    out = out.sort_values("lead_id", kind="stable").reset_index(drop=True)
    a_order = np.argsort(exp2.assigned_at, kind="stable")
    rows = pd.DataFrame(
        {
            "lead_id": _str_take(lead_ids, exp2.chosen[a_order]),
            "experiment_id": pd.Series([ACCOUNT_EXPERIMENT_ID] * len(a_order), dtype="str"),
            "variant": _str_take(list(ACCOUNT_EXPERIMENT_ARMS), exp2.arm[a_order]),
            "assigned_at": exp2.assigned_at[a_order].view("datetime64[us]"),
            "outcome": np.full(len(a_order), np.nan),
        }
    )
    return out, pd.concat([assignments, rows], ignore_index=True)


def _truth_table(
    kind: np.ndarray,
    dates: _StageDates,
    in_exp: np.ndarray,
    problem: np.ndarray,
    lead_ids: pa.Array,
) -> pd.DataFrame:
    """The hidden truth per lead: lead_id, kind, nurtured (0/1: old before SQL while nurture
    ran), sql_path (none, new, old), in_experiment (0/1), data_problem (empty when none)."""
    as_of_us = _us(AS_OF)
    created, sql = dates.lead, dates.sql
    has_sql = sql != _NEVER
    old_from = np.maximum(_old_start(created), _us(NURTURE_START))
    nurtured = (old_from < as_of_us) & (old_from < sql)
    path = np.where(~has_sql, 0, np.where(sql - created < NEW_LEAD_DAYS * _US_PER_DAY, 1, 2))
    return pd.DataFrame(
        {
            "lead_id": _str_series(lead_ids),
            "kind": _str_take(KINDS, kind),
            "nurtured": nurtured.astype(np.int8),
            "sql_path": _str_take(["none", "new", "old"], path),
            "in_experiment": in_exp.astype(np.int8),
            "data_problem": _str_take(
                ["", "stage_before_created", "duplicate_stage_row", "skipped_mql"], problem
            ).mask(problem == 0),
        }
    )


def generate(n_leads: int = DEFAULT_LEADS, seed: int = 42) -> dict[str, pd.DataFrame]:
    """Build the demo tables: pure (no I/O) and deterministic for ``(n_leads, seed)``.

    The story of the module docstring, told in steps that each draw from one random generator
    in a fixed order (the step functions above, called here in order).

    Parameters
    ----------
    n_leads : int, default 20,000
        Number of leads, at least 10. Costs and the experiment's size scale with it.
    seed : int, default 42
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    dict of str to DataFrame
        The contract tables in raw CRM form (stage names as in :data:`STAGE_LABELS`,
        placeholders ``"Select"`` / ``"-"`` in some profile cells):

        - ``leads``: lead_id, created_at, account_id, name, email, phone, company, title,
          industry, country, source, tags;
        - ``events``: lead_id, ts, event_type, value, duration_s;
        - ``stages``: lead_id, stage, entered_at;
        - ``costs``: period_start, amount, program, channel;
        - ``assignments``: lead_id, experiment_id, variant, assigned_at, outcome (empty);
        - ``orders``: account_id, lead_id, order_date, amount;

        and two helper tables: ``truth`` (lead_id, kind, nurtured, sql_path, in_experiment,
        data_problem) and ``abm_accounts`` (account_id).

    Raises
    ------
    ValueError
        When ``n_leads`` is not an integer of at least 10.

    Examples
    --------
    >>> tables = generate(200, seed=1)
    >>> list(tables)
    ['leads', 'events', 'stages', 'costs', 'assignments', 'orders', 'truth', 'abm_accounts']
    >>> len(tables["leads"]), tables["leads"]["lead_id"].iloc[0]
    (200, 'L0000001')
    >>> tables["stages"]["stage"].value_counts()["Lead"]
    np.int64(200)
    >>> generate(200, seed=1)["events"].equals(tables["events"])
    True
    """
    if not isinstance(n_leads, int | np.integer) or n_leads < 10:
        raise ValueError(f"n_leads must be an integer >= 10, got {n_leads!r}")
    rng = np.random.default_rng(seed)
    n = int(n_leads)
    created, kind = _draw_arrivals(rng, n)
    account, to_rival, n_accounts = _draw_membership(rng, kind)
    accounts = _draw_accounts(rng, n_accounts)
    profiles = _draw_profiles(rng, kind, account, to_rival, accounts)
    sql, activity = _draw_sql_dates(rng, created, kind)
    experiment, sql = _run_experiment(rng, kind, created, sql)
    dates = _draw_other_stages(rng, kind, created, sql, experiment)
    stages, problem = _stage_history(rng, dates, profiles.lead_ids, experiment.in_exp)
    rows = _draw_event_rows(rng, kind, created, activity, sql)
    value, duration = _draw_event_values(rng, kind, rows)
    events = _events_table(rows, value, duration, profiles.lead_ids)
    tag_flag = rows.tag_flag
    exp2 = _run_account_experiment(  # its own random stream: the draws above and below keep
        seed,
        kind,
        created,
        account,
        accounts,
        dates,
        problem,
        experiment.in_exp,
        rows.lead,
        rows.ts,
    )
    del rows, value, duration  # the largest arrays: free them before the leads table
    leads = _leads_table(rng, kind, created, account, accounts, profiles, tag_flag)
    costs = _draw_costs(rng, n)
    orders = _draw_orders(rng, dates.customer, account, accounts, profiles.lead_ids)
    # no draws below: tables from what the steps drew
    abm_ids = _str_take(accounts.ids, np.flatnonzero(accounts.abm))
    stages, assignments = _with_account_experiment(
        stages, _assignments_table(experiment, profiles.lead_ids), exp2, profiles.lead_ids
    )
    sql2 = dates.sql.copy()
    conv2 = exp2.sql != _NEVER
    sql2[exp2.chosen[conv2]] = exp2.sql[conv2]
    final = _StageDates(dates.lead, dates.mql, sql2, dates.opportunity, dates.customer, dates.lost)
    in_any = experiment.in_exp.copy()
    in_any[exp2.chosen] = True
    return {
        "leads": leads,
        "events": events,
        "stages": stages,
        "costs": costs,
        "assignments": assignments,
        "orders": orders,
        "truth": _truth_table(kind, final, in_any, problem, profiles.lead_ids),
        "abm_accounts": pd.DataFrame({"account_id": abm_ids}),
    }


# --------------------------------------------------------------------------------------------
# Writing


SIDE_TABLES = ("truth", "abm_accounts")  # always CSV: small helper tables, not contract inputs
DATE_ONLY_TABLES = ("costs", "orders")  # their dates are days: written YYYY-MM-DD


def sample_params(files: dict[str, str]) -> dict[str, Any]:
    """The params mapping that ``leadnb sample`` writes next to the tables.

    Parameters
    ----------
    files : dict of str to str
        Table name -> path of its file relative to the params file; every contract table
        (leads, events, stages, costs, assignments, orders) must be there.

    Returns
    -------
    dict
        A params mapping (see :func:`leadnb.data.params.params_from_dict`): ``run`` (name demo,
        as_of 2026-06-30), ``data`` (one source per table; the leads' placeholders),
        ``scoring`` (the rules file), ``funnel`` (the CRM stage aliases), ``roi`` (nurture
        start), ``experiments`` (the demo registration) and ``scoring_calibration`` (the ABM
        list).

    Examples
    --------
    >>> files = {t: f"{t}.csv" for t in ("leads", "stages", "costs", "assignments", "orders")}
    >>> params = sample_params({**files, "events": "events.parquet"})
    >>> params["data"]["leads"]
    {'source': 'leads.csv', 'placeholders': ['Select', '-', 'N/A']}
    >>> params["run"], params["roi"]
    ({'name': 'demo', 'as_of': '2026-06-30'}, {'nurture_start': '2025-10-01'})
    """
    data: dict[str, Any] = {}
    for table in ("leads", "events", "stages", "costs", "assignments", "orders"):
        entry: dict[str, Any] = {"source": files[table]}
        if table == "leads":
            entry["placeholders"] = [*PLACEHOLDERS, "N/A"]
        data[table] = entry
    return {
        "run": {"name": "demo", "as_of": TRUTH["as_of"]},
        "data": data,
        "scoring": {"rules": "scoring_rules.yaml"},
        "funnel": {"aliases": dict(FUNNEL_ALIASES)},
        "roi": {"nurture_start": TRUTH["nurture_start"]},
        "experiments": {"registrations": [DEMO_EXPERIMENT, DEMO_ACCOUNT_EXPERIMENT]},
        # the ABM list written next to the tables (the notebook's own default is no list)
        "scoring_calibration": {"abm_accounts_file": "abm_accounts.csv"},
    }


RULES_HEADER = """\
# Demo scoring rules (leadnb.data.demo.DEMO_RULES; `leadnb sample` writes a copy next to the data).
# Four families: tags, content reading, special behaviours, profile completeness. Competitors
# read everything and so get the highest scores; high-intent leads ask quickly and convert
# before they collect points. Format: see leadnb/scoring.py.
"""


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def rules_yaml(rules: dict[str, Any] | None = None) -> str:
    """Scoring rules as readable YAML: one block per rule, ``when`` inline, under a header.

    Parameters
    ----------
    rules : dict, optional
        A rules mapping with ``categories`` and ``rules`` (the scoring rules file format);
        default :data:`DEMO_RULES`.

    Returns
    -------
    str
        The YAML text; ``yaml.safe_load`` of it gives ``rules`` back. params/scoring_rules.yaml
        is this text for :data:`DEMO_RULES`.

    Examples
    --------
    >>> rules = {"categories": {"tags": {"cap": 40}},
    ...          "rules": [{"name": "student", "category": "tags",
    ...                     "when": {"event_type": "tag_added", "value": "student"},
    ...                     "points": -10}]}
    >>> print(*rules_yaml(rules).splitlines()[4:], sep="\\n")
    categories:
      tags: {cap: 40}
    rules:
      - name: student
        category: tags
        when: {event_type: tag_added, value: student}
        points: -10
    >>> yaml.safe_load(rules_yaml()) == DEMO_RULES
    True
    """
    rules = DEMO_RULES if rules is None else rules
    lines = [RULES_HEADER.rstrip("\n"), "categories:"]
    lines += [f"  {name}: {_flow(spec)}" for name, spec in rules["categories"].items()]
    lines.append("rules:")
    for rule in rules["rules"]:
        for i, (key, val) in enumerate(rule.items()):
            lines.append(f"  {'- ' if i == 0 else '  '}{key}: {_flow(val)}")
    return "\n".join(lines) + "\n"


def _dump_yaml(obj: Any, path: Path, header: str = "") -> None:
    text = yaml.safe_dump(obj, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(header + text, encoding="utf-8")


def _write_csv(df: pd.DataFrame, path: Path, *, date_only: bool = False) -> None:
    """Write ``df`` as UTF-8 CSV with pyarrow (pandas' writer is the slow step at a million rows).

    Dates are written ``YYYY-MM-DD HH:MM:SS`` (``YYYY-MM-DD`` when ``date_only``), missing
    values as empty cells, and only fields that need it are quoted.
    """
    table = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
    fmt = "%Y-%m-%d" if date_only else "%Y-%m-%d %H:%M:%S"
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type):
            col = table.column(i).cast(pa.timestamp("s"), safe=False)
            table = table.set_column(i, f.name, pc.strftime(col, format=fmt))
    pcsv.write_csv(table, path, write_options=pcsv.WriteOptions(quoting_style="needed"))


def _write_tables(
    tables: dict[str, pd.DataFrame], folder: Path, fmt: str, seed: int
) -> dict[str, Path]:
    written: dict[str, Path] = {}
    for name, df in tables.items():
        parquet = name == "events" or (fmt == "parquet" and name not in SIDE_TABLES)
        path = folder / f"{name}.{'parquet' if parquet else 'csv'}"
        if parquet:
            # dictionary pages for the few distinct event types and values; lead_id stays plain
            dict_cols = [c for c in ("event_type", "value", "stage", "variant") if c in df]
            pq.write_table(
                pa.Table.from_pandas(df, preserve_index=False), path, use_dictionary=dict_cols
            )
        else:
            _write_csv(df, path, date_only=name in DATE_ONLY_TABLES)
        written[name] = path
    rules = folder / "scoring_rules.yaml"
    rules.write_text(rules_yaml(), encoding="utf-8")
    written["scoring_rules"] = rules
    params = folder / "params.yaml"
    files = {k: p.name for k, p in written.items()}
    _dump_yaml(
        sample_params(files),
        params,
        f"# Written by `leadnb sample` (seed {seed}, {len(tables['leads'])} leads). Paths are "
        "relative to this file.\n",
    )
    written["params"] = params
    return written


def write_sample(
    out: Path | str, *, n_leads: int = DEFAULT_LEADS, seed: int = 42, fmt: str = "csv"
) -> dict[str, Path]:
    """Generate the demo dataset (:func:`generate`) and write it into the folder ``out``.

    Design. The tables are written into a temporary folder next to ``out`` and renamed into
    place, so a failure never leaves half a dataset, and a previous sample stays intact until
    the new one is complete.

    Parameters
    ----------
    out : path
        The folder: missing, empty, or a previous sample (it has a params.yaml).
    n_leads : int, default 20,000
        Number of leads.
    seed : int, default 42
        Random seed.
    fmt : {"csv", "parquet"}, default "csv"
        File format of leads, stages, costs, assignments and orders. events is always Parquet
        (about 20 events per lead); truth and abm_accounts are always CSV.

    Returns
    -------
    dict of str to Path
        Name -> written file, for each table of :func:`generate` plus ``scoring_rules``
        (scoring_rules.yaml, :func:`rules_yaml`) and ``params`` (params.yaml,
        :func:`sample_params`, paths relative to it, ``run.as_of`` 2026-06-30).

    Raises
    ------
    LeadnbError
        ``fmt`` is unknown, or ``out`` is a file or a folder with other content; nothing is
        written then.

    Examples
    --------
    >>> import tempfile
    >>> from leadnb.data.params import load_params
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     files = write_sample(Path(tmp) / "demo", n_leads=300, seed=1)
    ...     params = load_params(files["params"])
    ...     sorted(p.name for p in files.values())[:4], str(params.as_of().date())
    (['abm_accounts.csv', 'assignments.csv', 'costs.csv', 'events.parquet'], '2026-06-30')
    """
    out = Path(out)
    if fmt not in ("csv", "parquet"):
        raise LeadnbError(
            f"unknown sample format {fmt!r}", fix="use fmt='csv' (default) or fmt='parquet'"
        )
    if out.exists():
        if not out.is_dir():
            raise LeadnbError(
                f"{out} exists and is not a folder",
                file=str(out),
                fix="pass --out a new or empty folder (or a previous sample folder)",
            )
        if any(out.iterdir()) and not (out / "params.yaml").is_file():
            raise LeadnbError(
                f"{out} is not empty and is not a previous demo sample (it has no params.yaml); "
                "refusing to overwrite it",
                file=str(out),
                fix="pass --out a new or empty folder, or delete the folder first",
            )
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    tmp = parent / f".{out.name}.tmp-{tag}"
    old = parent / f".{out.name}.old-{tag}"
    try:
        tmp.mkdir()
        written = _write_tables(generate(n_leads, seed), tmp, fmt, seed)
        if out.exists():
            os.replace(out, old)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out.exists():
            os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return {k: out / p.name for k, p in written.items()}


__all__ = [
    "DEMO_EXPERIMENT",
    "DEMO_RULES",
    "FUNNEL_ALIASES",
    "NURTURE_LIFT",
    "TRUTH",
    "generate",
    "rules_yaml",
    "sample_params",
    "write_sample",
]
