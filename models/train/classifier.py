#!/usr/bin/env python3
"""Small CNN classifiers used as feature networks for evaluating the diffusion models.

  /usr/bin/python3 models/train/classifier.py --dataset mnist   # 10 digit classes
  /usr/bin/python3 models/train/classifier.py --dataset emoji   # emoji.json categories

Trains on the training split written by prepare_data.py, reports accuracy on the fixed
held-out split, and writes models/<dataset>/eval/classifier.onnx (opset 17, dynamic batch;
input `image` [N,C,H,W] float32 in [-1,1] = uint8/127.5 - 1; outputs `logits` [N,K] and
`features` [N,F], the penultimate layer) and models/<dataset>/eval/classifier.json.
The ONNX model is checked against PyTorch with onnxruntime-node (check_onnx.mjs).
"""
import argparse
import datetime as dt
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_utils import node_check, onnx_export  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.normpath(os.path.join(HERE, ".."))
CACHE = os.path.normpath(os.path.join(HERE, "..", "..", ".cache", "train"))


def block(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class SmallCNN(nn.Module):
    def __init__(self, in_channels, n_classes, width=32, feat_dim=128, dropout=0.3):
        super().__init__()
        w = width
        self.body = nn.Sequential(
            *block(in_channels, w), *block(w, w), nn.MaxPool2d(2),        # H/2
            *block(w, 2 * w), nn.MaxPool2d(2),                             # H/4
            *block(2 * w, 4 * w), *block(4 * w, 4 * w),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(4 * w, feat_dim)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(feat_dim, n_classes)

    def forward(self, x):
        feats = F.relu(self.fc(self.body(x)))
        return self.head(self.drop(feats)), feats


def augment(x, pad_value, hflip, shift, gen):
    n = x.shape[0]
    if hflip:
        flip = torch.rand(n, generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    if shift:
        h, w = x.shape[-2:]
        xp = F.pad(x, (shift, shift, shift, shift), value=pad_value)
        dx = torch.randint(0, 2 * shift + 1, (n,), generator=gen)
        dy = torch.randint(0, 2 * shift + 1, (n,), generator=gen)
        x = torch.stack([xp[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
    return x


def evaluate(model, x, y, bs=500):
    model.eval()
    preds = []
    with torch.no_grad():
        for i in range(0, len(x), bs):
            preds.append(model(x[i:i + bs])[0].argmax(1))
    p = torch.cat(preds)
    return float((p == y).float().mean()), p


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=["mnist", "emoji"], required=True)
    ap.add_argument("--data", default=None, help="default .cache/train/<dataset>.npz (+ .json)")
    ap.add_argument("--out-dir", default=None, help="default models/<dataset>/eval")
    ap.add_argument("--epochs", type=int, default=None, help="default 8 (mnist) / 30 (emoji)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--label-smoothing", type=float, default=None,
                    help="default 0 (mnist: its p >= 0.9 share is a metric, so keep it calibrated) / 0.05 (emoji)")
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--feat-dim", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    data_path = args.data or os.path.join(CACHE, args.dataset + ".npz")
    with open(os.path.splitext(data_path)[0] + ".json") as f:
        dmeta = json.load(f)
    classes = dmeta["classes"]
    d = np.load(data_path)
    xtr = torch.from_numpy(d["x_train"].astype(np.float32) / 127.5 - 1.0)
    ytr = torch.from_numpy(d["y_train"].astype(np.int64))
    xte = torch.from_numpy(d["x_test"].astype(np.float32) / 127.5 - 1.0)
    yte = torch.from_numpy(d["y_test"].astype(np.int64))
    c = xtr.shape[1]
    is_emoji = args.dataset == "emoji"
    epochs = args.epochs or (30 if is_emoji else 8)
    smoothing = args.label_smoothing if args.label_smoothing is not None else (0.05 if is_emoji else 0.0)
    pad_value = 1.0 if is_emoji else -1.0  # white background for emoji, black for digits
    hflip = is_emoji
    shift = 2

    model = SmallCNN(c, len(classes), args.width, args.feat_dim)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    steps_per_epoch = (len(xtr) + args.batch_size - 1) // args.batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=epochs * steps_per_epoch,
                                                pct_start=0.15)
    print("%s classifier: %d params, %d train / %d held-out, %d classes, %d epochs"
          % (args.dataset, n_params, len(xtr), len(xte), len(classes), epochs), flush=True)
    t0 = time.time()
    history = []
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        tot, n = 0.0, 0
        for i in range(0, len(xtr), args.batch_size):
            idx = perm[i:i + args.batch_size]
            xb = augment(xtr[idx], pad_value, hflip, shift, gen)
            logits, _ = model(xb)
            loss = F.cross_entropy(logits, ytr[idx], label_smoothing=smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
            n += len(idx)
        acc, _ = evaluate(model, xte, yte)
        history.append({"epoch": ep + 1, "train_loss": round(tot / n, 4), "heldout_acc": round(acc, 4),
                        "elapsed_s": round(time.time() - t0, 1)})
        print(json.dumps(history[-1]), flush=True)
    wall = time.time() - t0
    model.eval()
    acc, pred = evaluate(model, xte, yte)
    train_acc, _ = evaluate(model, xtr, ytr)
    per_class = {}
    for k, name in enumerate(classes):
        m = yte == k
        per_class[name] = {"n": int(m.sum()), "acc": round(float((pred[m] == k).float().mean()), 4) if m.any() else None}

    out_dir = args.out_dir or os.path.join(MODELS, args.dataset, "eval")
    os.makedirs(out_dir, exist_ok=True)
    onnx_path = os.path.join(out_dir, "classifier.onnx")
    size = onnx_export(model, (torch.zeros(2, c, xtr.shape[2], xtr.shape[3]),), onnx_path, ["image"],
                       ["logits", "features"], {"image": {0: "batch"}, "logits": {0: "batch"},
                                                "features": {0: "batch"}})
    g = torch.Generator().manual_seed(1234)
    xc = xte[torch.randperm(len(xte), generator=g)[:3]]
    with torch.no_grad():
        lc, fc = model(xc)
    check = node_check(onnx_path, {"image": xc.numpy()}, {"logits": lc.numpy(), "features": fc.numpy()})
    print("onnx check: %s" % json.dumps(check), flush=True)

    meta = {
        "name": "%s-classifier" % args.dataset,
        "purpose": "feature network / classifier for evaluating generated %s images (FID-style statistics on "
                   "`features`, class histograms from `logits`)" % args.dataset,
        "onnx": "classifier.onnx",
        "opset": 17,
        "inputs": {"image": ["N", c, int(xtr.shape[2]), int(xtr.shape[3])]},
        "outputs": {"logits": ["N", len(classes)], "features": ["N", args.feat_dim]},
        "input_scaling": "float32 in [-1, 1]: uint8 / 127.5 - 1 (same as the diffusion model)",
        "image": {"channels": c, "height": int(xtr.shape[2]), "width": int(xtr.shape[3])},
        "classes": classes,
        "num_classes": len(classes),
        "feature_dim": args.feat_dim,
        "feature_layer": "ReLU(Linear(global-avg-pooled conv features)), penultimate layer",
        "params": n_params,
        "heldout_accuracy": round(acc, 4),
        "heldout_per_class": per_class,
        "train_accuracy": round(train_acc, 4),
        "n_train": int(len(xtr)),
        "n_heldout": int(len(xte)),
        "split": dmeta.get("split"),
        "training": {"epochs": epochs, "batch_size": args.batch_size, "optimizer": "AdamW wd 5e-4, OneCycle",
                     "lr": args.lr, "label_smoothing": smoothing,
                     "augmentation": "random shift +-%d px%s" % (shift, ", horizontal flip" if hflip else ""),
                     "wall_seconds": round(wall, 1), "torch_version": torch.__version__,
                     "threads": args.threads, "history": history},
        "onnx_check": {k: check.get(k) for k in ("ok", "tol", "max_abs_diff", "error")},
        "exported_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "bytes": size,
    }
    with open(os.path.join(out_dir, "classifier.json"), "w") as f:
        json.dump(meta, f, indent=2)
    print("held-out accuracy %.4f (train %.4f); wrote %s and classifier.json" % (acc, train_acc, onnx_path),
          flush=True)
    if not check.get("ok"):
        sys.exit("ONNX check FAILED")


if __name__ == "__main__":
    main()
