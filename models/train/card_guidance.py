"""The class-conditional part of a model card, from the guidance sweep in eval/results.json (written by
`npm run eval`): the sweep table, the issue's targets at the default guidance as met/missed/undecided,
accuracy per class, the cost of guidance and the per-class grids judged by eye (eval/by-eye.md)."""
import json
import math
import os
from statistics import median

from verdicts import Z90, verdict, wilson

# The targets at DDIM-50 and the default guidance scale.
ACCURACY_TARGET = {"mnist": 0.99, "emoji": 0.80}
RECOGNISABLE_TARGET = {"mnist": 0.97}
FD_TARGET = {"mnist"}


def pct(v):
    return "n/a" if v is None else "%.1f%%" % (100 * v)


def share_with_interval(p, n):
    lo, hi = wilson(p, n)
    return "%.1f%% (90%% interval %.1f%%-%.1f%%)" % (100 * p, 100 * lo, 100 * hi), lo, hi


def sweep_table(g):
    out = ["| guidance | accuracy (requested class) | recognisable (p >= 0.9) | Frechet distance | s / image |",
           "|---|---:|---:|---:|---:|"]
    for r in g["rows"]:
        scale = "none (unconditional)" if r["guidance"] is None else \
            ("**%g (default)**" % r["guidance"] if r["guidance"] == g["defaultScale"] else "%g" % r["guidance"])
        acc = "-" if r["accuracy"] is None else "%s +- %.1f" % (pct(r["accuracy"]), 100 * r["accuracySe"])
        out.append("| %s | %s | %s +- %.1f | %.3f +- %.3f | %.3f |" % (
            scale, acc, pct(r["confident"]), 100 * r["confidentSe"], r["frechet"], r["frechetBootstrapSd"],
            r["secondsPerImage"]))
    return out


def targets(name, g, baseline, judged):
    at_default = next(r for r in g["rows"] if r["guidance"] == g["defaultScale"])
    n, where = at_default["samples"], "DDIM-50 at the default guidance (%g)" % g["defaultScale"]
    checks = []
    if name in ACCURACY_TARGET:
        limit = ACCURACY_TARGET[name]
        text, lo, hi = share_with_interval(at_default["accuracy"], n)
        what = "digit" if name == "mnist" else "category"
        checks.append(("%s: the classifier reads the requested %s in >= %g%% of samples" % (where, what, 100 * limit),
                       text, verdict(lo, hi, limit, at_most=False)))
        if name == "emoji":
            checks.append(("for scale: the same classifier's accuracy on the real held-out emoji",
                           pct(g["heldoutAccuracy"]), "(reference)"))
            checks.append(("a 16-image grid per category is mostly recognisable", "the grids below",
                           "judged by eye below" if judged else "not judged yet"))
    if name in RECOGNISABLE_TARGET:
        limit = RECOGNISABLE_TARGET[name]
        text, lo, hi = share_with_interval(at_default["confident"], n)
        checks.append(("%s: >= %g%% recognisable (p >= 0.9)" % (where, 100 * limit), text,
                       verdict(lo, hi, limit, at_most=False)))
    if name in FD_TARGET:
        label = "%s-%d" % (baseline["sampler"].upper(), baseline["steps"]) if baseline else "DDPM-1000"
        if baseline and baseline["samples"] != n:
            # The distance is biased upwards at small sample counts, so only equal counts compare.
            checks.append(("%s: Frechet distance no worse than today's %s" % (where, label),
                           "%.3f at %d samples vs %.3f at %d: not comparable (run the sweep with --samples %d)"
                           % (at_default["frechet"], n, baseline["frechet"], baseline["samples"], baseline["samples"]),
                           "undecided"))
        elif baseline:
            # Different models and seeds: an unpaired difference, its spread from both bootstrap spreads.
            diff = at_default["frechet"] - baseline["frechet"]
            sd = math.hypot(at_default["frechetBootstrapSd"], baseline["frechetBootstrapSd"])
            lo, hi = diff - Z90 * sd, diff + Z90 * sd
            checks.append(("%s: Frechet distance no worse than today's %s" % (where, label),
                           "%.3f (%d samples) vs %.3f (%d samples, %s): difference %+.3f (90%% interval %+.3f to %+.3f)"
                           % (at_default["frechet"], n, baseline["frechet"], baseline["samples"], baseline["date"][:10],
                              diff, lo, hi), verdict(lo, hi, 0, at_most=True)))
        else:
            checks.append(("%s: Frechet distance no worse than today's %s" % (where, label),
                           "no baseline recorded (npm run eval -- --fd-baseline <results.json>)", "undecided"))
    t = g.get("timing")
    if t:
        ratios = [a / b for a, b in zip(t["guided"], t["doubled"])]
        # Timing on a shared machine is noisy: a miss takes at least three repeats that all exceed the bound.
        met = "yes" if max(ratios) <= 1 else ("**no**" if min(ratios) > 1 and len(ratios) >= 3 else "undecided")
        checks.append(("guidance costs no more than one doubled batch (batch %d)" % t["batch"],
                       "guided %.3f s/image, one doubled batch %.3f, unguided %.3f (medians of %d); guided / doubled "
                       "%.2f-%.2f over the repeats" % (median(t["guided"]), median(t["doubled"]), median(t["unguided"]),
                                                       len(ratios), min(ratios), max(ratios)), met))
    out = ["", "### Class-conditional targets", "", "| target | measured (%d samples per scale) | met |" % n,
           "|---|---|---|"]
    out += ["| %s | %s | %s |" % c for c in checks]
    out += ["", "Shares are judged on their 90% Wilson interval, the Frechet distance on the difference from the "
            "baseline +- 1.645 x the two bootstrap spreads combined (different samples, so unpaired), the cost on "
            "every timing repeat (a miss needs at least three): met or missed only when all lie on one side of the "
            "limit, otherwise undecided. "
            "The Frechet distance is biased upwards at small sample counts, so it is only compared with a baseline "
            "of as many samples."]
    return out


def per_class(g):
    at_default = next(r for r in g["rows"] if r["guidance"] == g["defaultScale"])
    out = ["| class | samples | accuracy at guidance %g | real held-out accuracy |" % g["defaultScale"],
           "|---|---:|---:|---:|"]
    for c, name in enumerate(g["classes"]):
        n, k = at_default["classSamples"][c], at_default["classCorrect"][c]
        out.append("| %s | %d | %s | %s |" % (name, n, pct(k / n if n else None), pct(g["heldoutClassAccuracy"][c])))
    return out


def label_comparison(model_dir):
    """The measured comparison of label sets (eval/label-comparison.json, from label_comparison.py)."""
    path = os.path.join(model_dir, "eval", "label-comparison.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        cands = json.load(f)["candidates"]
    c0 = cands[0]
    L = ["", "### Conditioning: categories or subcategories", "",
         "Candidates warm-started from the same weights with the same recipe (steps in the table), evaluated on the same %d seeds at DDIM-50 "
         "(%s, %s). A subcategory model is scored on its categories: sample i asks for category i mod 9 and "
         "cycles through that category's subcategories, so both see the same mix of categories. Frechet floor "
         "%.3f at this sample count." % (c0["samples"], c0["date"][:10], c0["machine"], c0["floor"]), "",
         "| labels | training steps | weights | guidance | accuracy (requested category) | recognisable (p >= 0.9) "
         "| Frechet distance |", "|---|---:|---|---:|---:|---:|---:|"]
    for c in cands:
        kind = "%d %s" % (c["labels"], "subcategories" if c["grouped"] else "categories")
        for r in c["rows"]:
            L.append("| %s | %s | %s | %g | %s +- %.1f | %s +- %.1f | %.3f +- %.3f |" % (
                kind, "{:,}".format(c["steps"]), c["weights"], r["guidance"], pct(r["accuracy"]),
                100 * r["accuracySe"], pct(r["confident"]), 100 * r["confidentSe"], r["frechet"],
                r["frechetBootstrapSd"]))
    return L


def guidance_section(name, res, model_dir):
    g = res.get("guidance")
    if not g:
        return []
    L = ["", "## Class-conditional sampling: guidance sweep", "",
         "Measured by `npm run eval` on %s (%s): DDIM (eta 0) %d steps, %d samples per guidance scale; sample i asks "
         "for class i mod %d with seed %d + i. Accuracy: the share the classifier reads as the requested class; "
         "recognisable: the share it assigns some class with p >= 0.9 (the same classifier on the real held-out "
         "images: accuracy %s, recognisable %s); +- a binomial standard error or the Frechet distance's bootstrap "
         "spread. Frechet floor for %d real images: %.3f."
         % (g["date"][:10], g["machine"], g["steps"], g["samples"], len(g["classes"]), g["seed"],
            pct(g["heldoutAccuracy"]), pct(g["heldoutConfident"]), g["floorCount"], g["floor"]), ""]
    L += sweep_table(g)
    by_eye = os.path.join(model_dir, "eval", "by-eye.md")
    L += targets(name, g, res.get("fdBaseline"), os.path.exists(by_eye))
    L += label_comparison(model_dir)
    L += ["", "### Accuracy per class", ""] + per_class(g)
    L += ["", "### Samples per class at the default guidance (%g)" % g["defaultScale"], ""]
    if os.path.exists(by_eye):
        with open(by_eye) as f:
            L += ["Judged by eye (eval/by-eye.md):", "", f.read().strip(), ""]
    else:
        L += ["> Not judged by eye yet: write the judgement of the grids below into eval/by-eye.md and re-run this "
              "script.", ""]
    for grid in g["grids"]:
        L += ["**%s**" % grid["class"], "", "![%s](eval/%s)" % (grid["class"], grid["file"]), ""]
    return L
