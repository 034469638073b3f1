#!/usr/bin/env python3
"""Summarises tools/bench/estimator.sh results: per model, median / p90 /
max |offset error| (us) of each client, of the model's bound on the same
seeds (estsim) and over 100000 seeds, and the proxy's own timing error.

usage: estimator_report.py DIR MODEL...
DIR/MODEL.results: "CLIENT SEED OFFSET" lines; DIR/MODEL.sim: estsim
--runs-out lines "SEED BOUND_MEAN BOUND_MIN MEAN ESTIMATE";
DIR/MODEL/CLIENT.SEED.log: delayproxy --log files."""
import glob
import os
import sys

# Which estimator is the bound of each model (see estsim.c).
# mix has no simple bound: the min-delay sample is the reference there.
BOUND = {"gauss": 0, "outliers": 0, "qout": 1, "qback": 1, "mix": 1, "fixed": 0}
BOUND_NAME = {0: "mean of the samples (outliers known)", 1: "min-delay sample"}


def pct(xs, p):
    """Linear interpolation between order statistics (numpy's default)."""
    xs = sorted(xs)
    k = (len(xs) - 1) * p
    f = int(k)
    c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)


def row(name, errs, extra=""):
    us = [abs(e) * 1e6 for e in errs]
    print("  %-28s %7.0f %7.0f %7.0f %5d%s" % (name, pct(us, 0.5), pct(us, 0.9), max(us),
                                                len(us), extra))
    return pct(us, 0.5), pct(us, 0.9)


def proxy_timing(d, model):
    """Timing error of the datagrams of the runs counted (the last attempt
    of each: its log overwrote the earlier ones)."""
    errs, late = [], 0
    for f in glob.glob(os.path.join(d, model, "*.log")):
        with open(f) as fh:
            for line in fh:
                v = line.split()
                if len(v) == 7:
                    e = int(v[4]) / 1e3
                    errs.append(e)
                    late += e > 20
    if not errs:
        return "no datagrams"
    return ("%d datagrams, send - due: median %.1f us, p99 %.1f us, max %.0f us, "
            "%d later than 20 us" % (len(errs), pct(errs, 0.5), pct(errs, 0.99), max(errs), late))


def main():
    d, models = sys.argv[1], sys.argv[2:]
    table = []
    for m in models:
        with open(os.path.join(d, m + ".model")) as fh:
            print("== " + fh.read().strip() + " (ms)")
        print("  %-28s %7s %7s %7s %5s" % ("|error| in us", "median", "p90", "max", "runs"))
        res = {}
        with open(os.path.join(d, m + ".results")) as fh:
            for line in fh:
                c, seed, off = line.split()[:3]
                res.setdefault(c, [])
                if off != "fail":
                    res[c].append(float(off))
        sim = []
        with open(os.path.join(d, m + ".sim")) as fh:
            for line in fh:
                sim.append([float(x) for x in line.split()[1:]])
        runs = len(sim)
        cells = {}
        for c, errs in res.items():
            fails = runs - len(errs)
            cells[c] = row(c, errs, "  (%d failed)" % fails if fails else "")
        b = BOUND[m]
        cells["bound"] = row("bound: " + BOUND_NAME[b], [s[b] for s in sim])
        cells["offline"] = row("estimate offline (same draws)", [s[3] for s in sim])
        with open(os.path.join(d, m + ".population")) as fh:
            lines = fh.read().splitlines()
        pop = {ln.split()[0]: ln.split()[1:3] for ln in lines[2:] if not ln.startswith("#")}
        used = [ln.split()[-1] for ln in lines if ln.startswith("# outlier halves")]
        with open(os.path.join(d, m + ".same")) as fh:
            used += [ln.split()[-1] for ln in fh if ln.startswith("# outlier halves")]
        if m == "outliers" and len(used) == 2:
            print("  outlier halves the estimate used: %s in 100000 runs, %s on these draws"
                  % tuple(used))
        key = "bound-mean" if b == 0 else "bound-min"
        print("  over 100000 runs (estsim): bound median %s us, p90 %s us; estimate %s/%s us"
              % (pop[key][0], pop[key][1], pop["estimate"][0], pop["estimate"][1]))
        print("  proxy: " + proxy_timing(d, m))
        with open(os.path.join(d, "retries")) as fh:
            n = sum(1 for ln in fh if ln.startswith(m + " "))
        print("  runs repeated because the proxy was late: %d" % n)
        table.append((m, cells, pop[key] + pop["estimate"]))
    clients = []
    for _, cells, _ in table:
        clients += [c for c in cells if c not in clients and c not in ("bound", "offline")]
    print("\n| model | " + " | ".join(clients) +
          " | estimate, same draws | bound, same draws | estimate, 10^5 runs |"
          " bound, 10^5 runs |")
    print("|---|" + "---|" * (len(clients) + 4))
    for m, cells, pop in table:
        fmt = ["%.0f/%.0f" % cells[c] if c in cells else "-" for c in clients]
        print("| %s | %s | %.0f/%.0f | %.0f/%.0f | %s/%s | %s/%s |" % (
            m, " | ".join(fmt), *cells["offline"], *cells["bound"], *pop[2:], *pop[:2]))


if __name__ == "__main__":
    main()
