"""Writes the real-image sets `npm run eval` compares against, as PNG sheets beside each model.

models/<name>/eval/heldout.png    the held-out split (never trained on)
models/<name>/eval/reference.png  an equally sized, fixed random subset of the training split; the
                                  Frechet distance between it and the held-out set is the floor
models/<name>/eval/sets.json      tile size, counts and labels of both sheets

Run after prepare_data.py:  /usr/bin/python3 models/train/export_eval_sets.py --dataset mnist
"""
import argparse
import json
import os

import numpy as np
from PIL import Image

COLUMNS = 50


def sheet(images: np.ndarray) -> Image.Image:
    n, c, h, w = images.shape
    rows = (n + COLUMNS - 1) // COLUMNS
    canvas = np.full((rows * h, COLUMNS * w, c), 255, dtype=np.uint8)
    for i, img in enumerate(images):
        r, col = divmod(i, COLUMNS)
        canvas[r * h:(r + 1) * h, col * w:(col + 1) * w] = img.transpose(1, 2, 0)
    return Image.fromarray(canvas[:, :, 0] if c == 1 else canvas, mode="L" if c == 1 else "RGB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=["mnist", "emoji"], required=True)
    parser.add_argument("--cache", default=".cache/train", help="folder with <dataset>.npz from prepare_data.py")
    parser.add_argument("--seed", type=int, default=0, help="seed of the reference subset")
    args = parser.parse_args()
    data = np.load(os.path.join(args.cache, f"{args.dataset}.npz"))
    heldout, heldout_labels = data["x_test"], data["y_test"]
    pick = np.random.default_rng(args.seed).permutation(len(data["x_train"]))[: len(heldout)]
    reference, reference_labels = data["x_train"][pick], data["y_train"][pick]
    out = os.path.join("models", args.dataset, "eval")
    os.makedirs(out, exist_ok=True)
    sheet(heldout).save(os.path.join(out, "heldout.png"), optimize=True)
    sheet(reference).save(os.path.join(out, "reference.png"), optimize=True)
    n, c, h, w = heldout.shape
    with open(os.path.join(out, "sets.json"), "w") as f:
        json.dump({
            "tile": {"channels": int(c), "height": int(h), "width": int(w)},
            "columns": COLUMNS,
            "heldout": {"file": "heldout.png", "count": int(n), "labels": heldout_labels.tolist()},
            "reference": {"file": "reference.png", "count": int(len(reference)), "labels": reference_labels.tolist(),
                          "from": f"training split, fixed permutation (numpy default_rng({args.seed}))"},
        }, f)
        f.write("\n")
    print(f"{args.dataset}: {n} held-out and {len(reference)} reference images of {c}x{h}x{w} -> {out}")


if __name__ == "__main__":
    main()
