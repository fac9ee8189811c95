"""Timings of the predictive queue's model layer (:mod:`leadnb.scoring.model`) on the demo data.

For each size: the demo generated in memory (:func:`leadnb.data.demo.generate`), its stage dates,
then :func:`~leadnb.scoring.model.horizon_outcomes` and
:func:`~leadnb.scoring.model.features_at_decision` for every decided lead (scored at MQL, 7
days after creation, and at landmark ages), and :func:`~leadnb.scoring.model.fit_models` on the matured MQL population
(both models, the points model, five cross-fitting folds), and the features of every lead at
each landmark age (:func:`~leadnb.scoring.model.landmark_outcomes`, :data:`LANDMARKS`). Prints seconds, the feature matrix's
shape and the process's peak memory, with the machine's load.

``python -m benchmarks.model_features --leads 20000 200000 1000000`` (wrap the million in
``flock /tmp/leadnb-heavy.lock``); ``--no-fit`` times the features only.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

import pandas as pd

from leadnb.data import demo
from leadnb.funnel.stages import FunnelConfig, stage_dates
from leadnb.scoring import calibration as cal
from leadnb.scoring import model as M
from leadnb.scoring.rules import ScoringConfig

LANDMARKS = (7, 30, 60, 90, 180)


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def run(n_leads: int, *, fit: bool = True, seed: int = 42) -> list[dict]:
    """Time each step at ``n_leads``; one dict of figures per decision rule."""
    t0 = time.perf_counter()
    t = demo.generate(n_leads, seed=seed)
    leads, events = t["leads"], t["events"]
    cfg = ScoringConfig.from_dict(demo.DEMO_RULES, Path("."))
    sd = stage_dates(leads, t["stages"], FunnelConfig.from_dict({"aliases": demo.FUNNEL_ALIASES}))
    setup = time.perf_counter() - t0
    rows = []
    for decision in ("at_mql", "at_created_plus_days", "landmarks"):
        t0 = time.perf_counter()
        if decision == "landmarks":
            pop = M.landmark_outcomes(sd, as_of=demo.AS_OF, ages_days=LANDMARKS)
        else:
            pop = M.horizon_outcomes(sd, as_of=demo.AS_OF, decision=decision, days=7)
        t_pop = time.perf_counter() - t0
        dec = pop.frame[["lead_id", "decision_at"]]
        t0 = time.perf_counter()
        feats = M.features_at_decision(
            leads, events, cfg, dec, as_of=demo.AS_OF, profile_fields=["industry", "source", "country"],
            target_industries=demo.TARGET_INDUSTRIES, abm_accounts=t["abm_accounts"]["account_id"],
        )  # fmt: skip
        t_feat = time.perf_counter() - t0
        row = {
            "leads": n_leads, "events": len(events), "decision": decision, "decided": len(dec),
            "matured": pop.counts.n_matured, "columns": feats.frame.shape[1],
            "setup_s": round(setup, 1), "horizon_s": round(t_pop, 2),
            "features_s": round(t_feat, 2),
        }  # fmt: skip
        if fit and decision == "at_mql":
            mat = pop.matured
            keep = pop.frame["matured"].to_numpy(dtype=bool)
            X = feats.frame.loc[keep]
            created = leads.set_index("lead_id").loc[mat["lead_id"], "created_at"].to_numpy()
            points = cal.scores_at_decision(leads, events, cfg, mat, demo.AS_OF)["score"]
            t0 = time.perf_counter()
            fitted = M.fit_models(X, mat["outcome"], created_at=created, points=points, seed=0)
            row["fit_s"] = round(time.perf_counter() - t0, 1)
            v = M.model_validation(fitted).set_index(["model", "split"])["auc"].round(3)
            row["auc"] = v.to_dict()
        row["peak_gb"] = round(_peak_gb(), 2)
        rows.append(row)
        print(row, flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--leads", type=int, nargs="+", default=[20_000, 200_000])
    ap.add_argument("--no-fit", action="store_true")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()}; {os.cpu_count()} cores")
    rows = [r for n in args.leads for r in run(n, fit=not args.no_fit)]
    pd.set_option("display.width", 200)
    print(pd.DataFrame(rows).drop(columns="auc", errors="ignore").to_string(index=False))
    print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
