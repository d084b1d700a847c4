#!/usr/bin/env python3
"""Record the measured comparison of two ways to condition one dataset (issue 14: emoji categories or
subcategories) for the model card. Each candidate is a model folder exported with export.py --out-dir
and evaluated with `npm run eval -- --models-dir <dir> --only guidance`, all with the same seeds.

  /usr/bin/python3 models/train/label_comparison.py --dataset emoji \\
      --candidate /tmp/c-cat/emoji --candidate /tmp/c-sub/emoji

Writes models/<dataset>/eval/label-comparison.json; model_card.py renders it as a table.
"""
import argparse
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def candidate(model_dir):
    with open(os.path.join(model_dir, "model.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(model_dir, "eval", "results.json")) as f:
        guidance = json.load(f)["guidance"]
    cond = manifest["conditioning"]
    stats = manifest["training"]
    rows = [{k: r[k] for k in ("guidance", "samples", "accuracy", "accuracySe", "confident", "confidentSe",
                               "frechet", "frechetBootstrapSd", "classSamples", "classCorrect")}
            for r in guidance["rows"] if r["guidance"] is not None]
    return {"labels": len(cond["classes"]), "grouped": "groups" in cond, "steps": stats.get("steps"),
            "weights": manifest["architecture"]["weights"], "scored": guidance["classes"],
            "samples": guidance["samples"], "seed": guidance["seed"], "floor": guidance["floor"],
            "date": guidance["date"], "machine": guidance["machine"], "rows": rows}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--candidate", action="append", required=True, help="an exported and evaluated model folder")
    args = ap.parse_args()
    out = {"candidates": [candidate(d) for d in args.candidate]}
    seeds = {(c["samples"], c["seed"]) for c in out["candidates"]}
    if len(seeds) != 1:
        raise SystemExit("candidates were evaluated on different samples or seeds: %s" % sorted(seeds))
    path = os.path.normpath(os.path.join(HERE, "..", args.dataset, "eval", "label-comparison.json"))
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote %s" % path)


if __name__ == "__main__":
    main()
