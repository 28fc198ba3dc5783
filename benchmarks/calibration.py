"""The calibrated simulator side by side with the real S&P 500 and VIX (2014-2018).

    .venv/bin/python benchmarks/calibration.py [--seed 2] [--days 1260] [--seeds 1,2,3,4]

The real series are the daily ones shipped with ``arch`` (a dev dependency: ``arch.data.sp500``
and ``arch.data.vix``), where both exist. The simulator runs the ``mixed`` scenario at the
real period's mean VIX. Prints one table: real, simulator, tolerance, verdict; with
``--seeds`` also the simulator's spread over several seeds (the vol process is persistent, so
one 5-year sample moves by a few tenths of a percent, as a real 5-year window would).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from condordesk.broker.sim.stats import TEN_DELTA_Z, measures, simulate
from condordesk.broker.sim.vol import OC_SHARE

# name: (label, tolerance kind, low/high or relative)
ROWS: tuple[tuple[str, str, str, tuple[float, float] | float], ...] = (
    ("oc_std", "open-to-close std", "pct", 0.15),
    ("oc_kurt", "excess kurtosis, open-to-close", "range", (2.0, 9.0)),
    ("p01", "1st percentile, open-to-close", "pct", 0.15),
    ("p99", "99th percentile, open-to-close", "pct", 0.15),
    ("over_2pct", "days with |open-to-close| > 2%", "range", (0.010, 0.045)),
    ("range", "high-low range / open", "pct", 0.15),
    ("range_ac1", "lag-1 autocorr of log range", "range", (0.45, 0.80)),
    ("iv_rv_corr", "corr(implied, same-day range)", "range", (0.55, 0.90)),
    ("vrp", "E[IV^2] / E[RV^2]", "range", (1.2, 1.6)),
    ("vrp_top_fifth", "E[IV^2] / E[RV^2], top fifth of IV", "range", (0.7, 1.4)),
    ("over_2_5_sigma", "range > 2.5 implied sigma", "range", (0.002, 0.036)),
    ("touched_10d", "10-delta distance touched", "range", (0.10, 0.22)),
    ("closed_10d", "10-delta distance closed beyond", "range", (0.05, 0.13)),
    ("open_over_midday", "first 30 min variance / midday", "range", (2.5, 4.5)),
    ("ten_oclock", "10:00-10:05 variance / 5 min midday", "range", (2.0, 8.0)),
    ("fomc_iv_drop", "FOMC: ATM IV after / before 14:00", "range", (0.3, 0.85)),
)
INTRADAY_REFERENCE = {
    "open_over_midday": 3.5,  # published intraday U-shape: about 3-4
    "ten_oclock": float("nan"),  # "clustered at 10:00-10:05" (no intraday data in arch)
    "fomc_iv_drop": float("nan"),  # "FOMC days move and crush IV"
}


def real_measures() -> dict[str, float]:
    """The measures of the real S&P 500 / VIX, 2014-2018 (needs ``arch``)."""
    import numpy as np
    from arch.data import sp500, vix

    d = sp500.load().join(vix.load(), how="inner").loc["2014":"2018"]
    oc = np.log(d.Close / d.Open)
    up, down = np.log(d.High / d.Open), np.log(d.Open / d.Low)
    log_range = np.log(np.log(d.High / d.Low))
    implied = (d.vix.shift(1) / 100.0 / math.sqrt(252.0) * math.sqrt(OC_SHARE)).iloc[1:]
    oc1, up1, down1 = oc.iloc[1:], up.iloc[1:], down.iloc[1:]
    hl = ((d.High - d.Low) / d.Open).iloc[1:]
    out = {
        "oc_std": float(oc.std(ddof=0)),
        "oc_kurt": float(oc.kurt()),
        "p01": float(oc.quantile(0.01)),
        "p99": float(oc.quantile(0.99)),
        "over_2pct": float((oc.abs() > 0.02).mean()),
        "range": float(((d.High - d.Low) / d.Open).mean()),
        "range_ac1": float(log_range.autocorr(1)),
        "iv_rv_corr": float(np.corrcoef(implied, hl)[0, 1]),
        "vrp": float((implied**2).mean() / (oc1**2).mean()),
        "vrp_top_fifth": float(
            (implied[implied >= implied.quantile(0.8)] ** 2).mean()
            / (oc1[implied >= implied.quantile(0.8)] ** 2).mean()
        ),
        "over_2_5_sigma": float(((up1 + down1) > 2.5 * implied / math.sqrt(OC_SHARE)).mean()),
        "touched_10d": float((np.maximum(up1, down1) > TEN_DELTA_Z * implied).mean()),
        "closed_10d": float((oc1.abs() > TEN_DELTA_Z * implied).mean()),
        "vix_mean": float(d.vix.mean()),
        "days": float(len(d)),
    }
    out.update(INTRADAY_REFERENCE)
    return out


def verdict(
    kind: str, tol: tuple[float, float] | float, real: float, sim: float
) -> tuple[str, bool]:
    """The tolerance as text and whether ``sim`` is within it."""
    if kind == "pct":
        assert isinstance(tol, float)
        return f"+-{tol:.0%} of real", abs(sim / real - 1.0) <= tol
    assert isinstance(tol, tuple)
    return f"{tol[0]:g} .. {tol[1]:g}", tol[0] <= sim <= tol[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--days", type=int, default=1260)
    parser.add_argument("--seeds", default="", help="comma-separated seeds for the spread")
    args = parser.parse_args()
    real = real_measures()
    sim = measures(simulate(args.seed, args.days, real["vix_mean"]))
    others = [
        measures(simulate(int(s), args.days, real["vix_mean"]))
        for s in args.seeds.split(",")
        if s.strip()
    ]
    print(
        f"real: S&P 500 + VIX 2014-2018, {real['days']:.0f} days, mean VIX {real['vix_mean']:.2f}"
    )
    print(
        f"simulator: scenario mixed, vix {real['vix_mean']:.2f}, seed {args.seed}, {args.days} days"
    )
    head = f"| {'measure':36} | {'real':>8} | {'simulator':>9} | {'tolerance':>14} | verdict |"
    if others:
        head += " seeds min..max |"
    print(head)
    print("|" + "|".join("-" * (len(c) + 0) for c in head.split("|")[1:-1]) + "|")
    failed = 0
    for name, label, kind, tol in ROWS:
        text, ok = verdict(kind, tol, real[name], sim[name])
        failed += not ok
        line = (
            f"| {label:36} | {real[name]:8.4f} | {sim[name]:9.4f} | {text:>14} |"
            f" {'ok' if ok else 'OUT':7} |"
        )
        if others:
            vals = [m[name] for m in others]
            line += f" {min(vals):.4f}..{max(vals):.4f} |"
        print(line)
    print(f"{len(ROWS) - failed}/{len(ROWS)} within tolerance")


if __name__ == "__main__":
    main()
