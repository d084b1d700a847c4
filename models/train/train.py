#!/usr/bin/env python3
"""Train a small DDPM (epsilon prediction, simple loss, linear betas, T=1000) on CPU.

  /usr/bin/python3 models/train/train.py --dataset mnist --until 17:35
  /usr/bin/python3 models/train/train.py --dataset emoji --minutes 90

The run directory (default .cache/train/<dataset>/) holds:
  last.pt          checkpoint (model, EMA, optimizer, step, RNG states, config), written
                   atomically every --ckpt-minutes and at exit (also on SIGTERM/SIGINT)
  log.jsonl        one JSON line per --log-every steps (loss, s/step, lr, ...)
  train_stats.json measured totals (steps, wall seconds, hardware, torch version, loss),
                   read by export.py and model_card.py

Training resumes automatically from last.pt when it exists (use --fresh to ignore it).
If last.pt is lost, --warm-start continues from the shipped model instead: model and EMA start from
the EMA weights in models/<dataset>/model.onnx (needs the `onnx` Python package, Debian python3-onnx),
and the step count, config, hyper-parameters and sessions from models/<dataset>/training_log.json; the
optimizer moments restart (the LR warmup runs again) and the data order is reseeded from the step.
The stop condition is the first of --max-steps (total steps), --minutes (this run) and
--until (UTC wall clock, HH:MM today or ISO 8601).

--cooldown N ends a run with a cosine LR decay to zero over the N steps after this run's start
(the usual last phase of a training run; the run stops when the decay is done). The session entry
in train_stats.json records it.
"""
import argparse
import copy
import datetime as dt
import json
import math
import os
import platform
import random
import signal
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loss_names import SIMPLE_LOSS, loss_description  # noqa: E402
from unet import CONFIGS, DDPMSchedule, UNet, count_params, grow_res_blocks  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.normpath(os.path.join(HERE, "..", "..", ".cache", "train"))


def utcnow():
    return dt.datetime.now(dt.timezone.utc)


def parse_until(s):
    if s is None:
        return None
    now = utcnow()
    if len(s) <= 5 and ":" in s:
        h, m = s.split(":")
        t = now.replace(hour=int(h), minute=int(m), second=0, microsecond=0)
        if t < now - dt.timedelta(hours=12):
            t += dt.timedelta(days=1)
        return t
    t = dt.datetime.fromisoformat(s)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def hardware_info(threads):
    return {"device": "cpu", "cpu": cpu_name(), "logical_cores": os.cpu_count(), "torch_threads": threads,
            "note": "shared machine: other jobs (and the other model's training) ran concurrently; "
                    "per-session threads, niceness and load average are in `sessions`"}


def loadavg1():
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def load_data(path, labels):
    d = np.load(path)
    x = torch.from_numpy(d["x_train"].astype(np.float32) / 127.5 - 1.0)
    return x, torch.from_numpy(d["ysub_train" if labels == "subcategory" else "y_train"].astype(np.int64))


def atomic_torch_save(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def atomic_json(obj, path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


def load_shipped(dataset):
    """EMA weights, step and statistics of models/<dataset>/, written by export.py."""
    import tempfile
    import onnx
    from onnx import numpy_helper
    from export import Wrapper, export_signature
    from onnx_utils import onnx_export
    model_dir = os.path.normpath(os.path.join(HERE, "..", dataset))
    onnx_path = os.path.join(model_dir, "model.onnx")
    with open(os.path.join(model_dir, "training_log.json")) as f:
        log = json.load(f)
    with open(os.path.join(model_dir, "model.json")) as f:
        manifest = json.load(f)
    # The manifest holds the exported network's own config (with num_classes when conditional).
    cfg = manifest["architecture"]["config"]
    hp = dict(log["stats"]["hparams"])
    if manifest.get("conditioning", {}).get("p_uncond") is not None:
        hp["p_uncond"] = manifest["conditioning"]["p_uncond"]
    shipped = {i.name: numpy_helper.to_array(i) for i in onnx.load(onnx_path).graph.initializer}
    # The exporter renames some weights (GroupNorm's scale and shift become anonymous, reshaped
    # constants), so find each parameter by exporting the same network with parameter k set to k + 1.
    marker = UNet(**cfg).eval()
    names = [n for n, _ in marker.named_parameters()]
    with torch.no_grad():
        for k, (_, p) in enumerate(marker.named_parameters()):
            p.fill_(k + 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "marker.onnx")
        dummy, input_names, axes = export_signature(marker, 1)
        onnx_export(Wrapper(marker).eval(), dummy, path, input_names, ["noise_pred"], axes)
        marked = {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}
    shapes = {n: p.shape for n, p in marker.named_parameters()}
    weights = {}
    for name, value in marked.items():
        flat = value.reshape(-1)
        if value.dtype != np.float32 or flat.size == 0:
            continue
        k = int(flat[0]) - 1
        if not (0 <= k < len(names)) or flat.size != shapes[names[k]].numel() or not np.all(flat == k + 1):
            continue  # a constant of the graph, not a parameter
        if names[k] in weights or name not in shipped or shipped[name].shape != value.shape:
            sys.exit("%s does not have the layout of this recipe's export (%s)" % (onnx_path, name))
        weights[names[k]] = torch.from_numpy(shipped[name].reshape(shapes[names[k]]).copy())
    missing = sorted(set(names) - set(weights))
    if missing:
        sys.exit("could not find %d parameters in %s: %s" % (len(missing), onnx_path, missing[:5]))
    return {"onnx": onnx_path, "weights": weights, "step": log["checkpoint_step"], "stats": log["stats"],
            "config": cfg, "hparams": hp}


def check_grown(warm, cfg):
    """The grown network must compute what the shipped one does; refuse to train from anything else."""
    shipped = UNet(**warm["grown_from"]).eval()
    shipped.load_state_dict(warm["shipped_weights"])
    trial = UNet(**cfg).eval()
    trial.load_state_dict(warm["weights"])
    x = torch.randn(4, cfg["in_channels"], cfg["image_size"], cfg["image_size"], generator=torch.Generator().manual_seed(0))
    t = torch.tensor([0, 300, 600, 999])
    labels = torch.tensor([0, 1, 2, cfg["num_classes"]]) if cfg.get("num_classes") else None
    with torch.no_grad():
        diff = (shipped(x, t, labels) - trial(x, t, labels)).abs().max().item()
    if diff > 1e-5:
        sys.exit("the grown network differs from the shipped one by %g" % diff)
    print("grown to %d residual blocks per level: %d parameters, same output (max difference %g)"
          % (cfg["num_res_blocks"], count_params(trial), diff), flush=True)


def make_optimizer(model, hp):
    """AdamW; the class embedding in its own group with hp["class_lr_mult"] times the LR."""
    class_params = [p for n, p in model.named_parameters() if n.startswith("class_emb.")]
    rest = [p for n, p in model.named_parameters() if not n.startswith("class_emb.")]
    groups = [{"params": rest, "lr_mult": 1.0}]
    if class_params:
        groups.append({"params": class_params, "lr_mult": hp.get("class_lr_mult", 1.0)})
    return torch.optim.AdamW(groups, lr=hp["lr"], betas=(0.9, 0.999), weight_decay=0.0)


def load_optimizer_state(opt, model, hp, state):
    """Adam moments from a checkpoint, also one saved before the class embedding had its own group."""
    if len(state["param_groups"]) == len(opt.param_groups):
        opt.load_state_dict(state)
        for g, lr_mult in zip(opt.param_groups, [1.0, hp.get("class_lr_mult", 1.0)]):
            g["lr_mult"] = lr_mult  # the stored group predates a changed --class-lr-mult
        return
    single = torch.optim.AdamW(model.parameters(), lr=hp["lr"], betas=(0.9, 0.999), weight_decay=0.0)
    single.load_state_dict(state)
    for p, s in single.state.items():
        opt.state[p] = s


def p2_weights(sched, gamma):
    """Per-timestep loss weights 1 / (1 + SNR(t))^gamma scaled to mean 1 (all ones for gamma 0)."""
    ac = sched.alphas_cumprod
    w = (1.0 + ac / (1.0 - ac)) ** -gamma
    return (w / w.mean()).float()


def data_meta(args):
    """The dataset's .json written by prepare_data.py."""
    base = os.path.splitext(args.data or os.path.join(CACHE, args.dataset + ".npz"))[0]
    with open(base + ".json") as f:
        return json.load(f)


def n_classes(args, labels):
    return len(data_meta(args)["subclasses" if labels == "subcategory" else "classes"])


def class_emb_from_categories(weights, args):
    """A category-conditional model's class embedding spread over the subcategories: each subcategory
    starts at its category's row (the null label keeps its row), so the network starts out unchanged."""
    parent = data_meta(args)["subclass_parent"]
    old = weights["class_emb.weight"]
    return torch.cat([old[torch.tensor(parent)], old[-1:]])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=sorted(CONFIGS), required=True)
    ap.add_argument("--data", default=None, help="npz from prepare_data.py (default .cache/train/<dataset>.npz)")
    ap.add_argument("--out", default=None, help="run directory (default .cache/train/<dataset>)")
    ap.add_argument("--max-steps", type=int, default=None, help="stop at this total step count")
    ap.add_argument("--minutes", type=float, default=None, help="wall-clock budget of this invocation")
    ap.add_argument("--until", default=None, help="stop at this UTC time (HH:MM or ISO 8601)")
    ap.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint and start over")
    ap.add_argument("--resume", action="store_true",
                    help="require a checkpoint to resume from (resuming is automatic anyway)")
    ap.add_argument("--warm-start", action="store_true",
                    help="no checkpoint: start from models/<dataset>/model.onnx and its training_log.json")
    ap.add_argument("--batch-size", type=int, default=None, help="default 64 (mnist) / 32 (emoji)")
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--warmup", type=int, default=200, help="linear LR warmup steps")
    ap.add_argument("--cooldown", type=int, default=None,
                    help="cosine LR decay to 0 over this many steps from this run's start, then stop")
    ap.add_argument("--grad-clip", type=float, default=1.0)
    ap.add_argument("--ema-decay", type=float, default=0.9995, help="EMA decay (with min((1+s)/(10+s)) warmup)")
    ap.add_argument("--ch", type=int, default=None)
    ap.add_argument("--ch-mult", default=None, help="e.g. 1,2,2")
    ap.add_argument("--num-res-blocks", type=int, default=None)
    ap.add_argument("--dropout", type=float, default=None)
    ap.add_argument("--grow-res-blocks", type=int, default=None,
                    help="with --warm-start: this many residual blocks per level, the new ones starting as the "
                         "identity (the grown network computes what the shipped one did)")
    ap.add_argument("--hflip", type=int, choices=[0, 1], default=None, help="random horizontal flip (default: emoji only)")
    ap.add_argument("--conditional", action="store_true",
                    help="condition on the dataset's labels (classifier-free guidance training); a warm start "
                         "from an unconditional model adds a zero-initialised class embedding")
    ap.add_argument("--class-lr-mult", type=float, default=None,
                    help="LR multiplier of the class embedding (default 1; stored, and kept on resume). A zero-"
                         "initialised embedding added to a trained network grows too slowly at the network's LR "
                         "(MNIST: norm 0.06 per class after 900 steps against a time embedding of norm 3-6)")
    ap.add_argument("--labels", choices=["category", "subcategory"], default=None,
                    help="emoji: condition on the category (9 classes) or the subcategory (98, e.g. face-smiling); "
                         "(default: the warm start's, else category); a subcategory warm start from a category model "
                         "starts each subcategory at its category")
    ap.add_argument("--balance-classes", type=int, choices=[0, 1], default=None,
                    help="1: the labelled examples draw every class equally often (a conditional model is asked for "
                         "each class alike, and the rarest emoji categories are the ones it draws worst); the "
                         "null-label examples keep the data's mix; stored in the run's hyper-parameters, pass it "
                         "again after a warm start")
    ap.add_argument("--p2-gamma", type=float, default=None,
                    help="P2 loss weighting (Choi et al. 2022): weigh step t by 1 / (1 + SNR(t))^gamma, normalised "
                         "to mean 1 over t; 0 = the simple loss. Moves the network's effort from removing the last "
                         "specks of noise to the noise levels where shapes form (stored in the hyper-parameters)")
    ap.add_argument("--p-uncond", type=float, default=0.15,
                    help="conditional training: probability of replacing a label with the null label")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ckpt-minutes", type=float, default=3.0)
    ap.add_argument("--log-every", type=int, default=100)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    out = args.out or os.path.join(CACHE, args.dataset)
    os.makedirs(out, exist_ok=True)
    ckpt_path = os.path.join(out, "last.pt")
    stats_path = os.path.join(out, "train_stats.json")
    log_path = os.path.join(out, "log.jsonl")

    cfg = dict(CONFIGS[args.dataset])
    if args.ch is not None:
        cfg["ch"] = args.ch
    if args.ch_mult is not None:
        cfg["ch_mult"] = tuple(int(v) for v in args.ch_mult.split(","))
    if args.num_res_blocks is not None:
        cfg["num_res_blocks"] = args.num_res_blocks
    if args.dropout is not None:
        cfg["dropout"] = args.dropout
    hp = {"batch_size": args.batch_size or (64 if args.dataset == "mnist" else 32), "lr": args.lr,
          "warmup": args.warmup, "grad_clip": args.grad_clip, "ema_decay": args.ema_decay,
          "hflip": bool(args.hflip if args.hflip is not None else args.dataset == "emoji"),
          "optimizer": "AdamW(betas=(0.9, 0.999), weight_decay=0)", "loss": SIMPLE_LOSS,
          "seed": args.seed}

    ckpt = None
    if os.path.exists(ckpt_path) and not args.fresh:
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)  # our own checkpoint (holds RNG state)
        cfg = ckpt["config"]
        hp = ckpt["hparams"]
        print("resuming from %s at step %d" % (ckpt_path, ckpt["step"]), flush=True)
    elif args.resume:
        sys.exit("--resume given but no checkpoint at %s" % ckpt_path)
    warm = None
    if ckpt is None and args.warm_start:
        warm = load_shipped(args.dataset)
        cfg = warm["config"]
        hp = warm["hparams"]
        if args.conditional and not cfg.get("num_classes"):
            cfg = dict(cfg, num_classes=n_classes(args, args.labels or "category"))
            hp = dict(hp, p_uncond=args.p_uncond)
        labels = args.labels or hp.get("labels", "category")
        shipped_labels = hp.get("labels", "category") if warm["config"].get("num_classes") else labels
        if labels != shipped_labels:
            if labels != "subcategory" or not cfg.get("num_classes"):
                sys.exit("--labels %s cannot warm-start from a model conditioned on %ss" % (labels, shipped_labels))
            warm["weights"]["class_emb.weight"] = class_emb_from_categories(warm["weights"], args)
            cfg = dict(cfg, num_classes=n_classes(args, labels))
        hp = dict(hp, labels=labels)
        if args.grow_res_blocks is not None:
            if args.grow_res_blocks <= cfg["num_res_blocks"]:
                sys.exit("--grow-res-blocks %d: the shipped model already has %d per level"
                         % (args.grow_res_blocks, cfg["num_res_blocks"]))
            warm["grown_from"] = cfg
            cfg = dict(cfg, num_res_blocks=args.grow_res_blocks)
        print("warm start from %s at step %d (optimizer state restarts)" % (warm["onnx"], warm["step"]), flush=True)

    if args.grow_res_blocks is not None and warm is None:
        sys.exit("--grow-res-blocks needs --warm-start (and no checkpoint in the run directory)")
    if ckpt is None and warm is None and args.conditional:
        hp["labels"] = args.labels or "category"
        cfg["num_classes"] = n_classes(args, hp["labels"])
        hp["p_uncond"] = args.p_uncond
    torch.manual_seed(hp["seed"])
    random.seed(hp["seed"])
    model = UNet(**cfg)
    ema = copy.deepcopy(model).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    if args.class_lr_mult is not None:
        hp["class_lr_mult"] = args.class_lr_mult
    if args.balance_classes is not None:
        if args.balance_classes and not cfg.get("num_classes"):
            sys.exit("--balance-classes 1 needs a conditional model (--conditional)")
        hp["balance_classes"] = bool(args.balance_classes)
    if args.p2_gamma is not None:
        hp["p2_gamma"] = args.p2_gamma
        hp["loss"] = loss_description(args.p2_gamma)
    opt = make_optimizer(model, hp)
    gen = torch.Generator().manual_seed(hp["seed"] + 1)
    step = 0
    warmup_from = 0  # the step the LR warmup counts from: 0, or a warm start's step (fresh optimizer)
    stats = None
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        ema.load_state_dict(ckpt["ema"])
        load_optimizer_state(opt, model, hp, ckpt["optimizer"])
        step = ckpt["step"]
        torch.set_rng_state(ckpt["rng"]["torch"])
        gen.set_state(ckpt["rng"]["data"])
        random.setstate(ckpt["rng"]["python"])
        stats = ckpt.get("stats")
    if warm is not None and "grown_from" in warm:
        warm["shipped_weights"] = warm["weights"]
        warm["weights"] = grow_res_blocks(warm["weights"], warm["grown_from"], model)
        check_grown(warm, cfg)
    if warm is not None:
        # strict=False only for the class embedding a conditional run adds to unconditional weights.
        for net in (model, ema):
            missing, unexpected = net.load_state_dict(warm["weights"], strict=False)
            if unexpected or set(missing) - {"class_emb.weight"}:
                sys.exit("shipped weights do not fit this network: missing %s, unexpected %s" % (missing, unexpected))
        step = warmup_from = warm["step"]
        # A fresh data order: replaying the first run's batches from step 0 would repeat them.
        gen.manual_seed(hp["seed"] + 1 + step)
        stats = warm["stats"]
        stats["warm_starts"] = stats.get("warm_starts", []) + [
            {"step": step, "utc": utcnow().isoformat(timespec="seconds"),
             "from": "weights of the exported model.onnx; optimizer moments reset"
                     + ("; grown from %d to %d residual blocks per level" % (warm["grown_from"]["num_res_blocks"],
                                                                           cfg["num_res_blocks"])
                        if "grown_from" in warm else "")}]
    n_params = count_params(model)
    if stats is None:
        stats = {"dataset": args.dataset, "params": n_params, "config": model.config, "hparams": hp,
                 "train_wall_seconds": 0.0, "steps": 0, "sessions": []}
    # A warm start or --class-lr-mult may have changed them since the stats were first written.
    stats["config"] = model.config
    stats["hparams"] = hp
    stats["torch_version"] = torch.__version__
    stats["hardware"] = hardware_info(args.threads)
    session = {"start_utc": utcnow().isoformat(timespec="seconds"), "start_step": step, "end_step": step,
               "wall_seconds": 0.0, "threads": args.threads, "nice": os.nice(0), "loadavg1_start": loadavg1(),
               "cpu": stats["hardware"]["cpu"]}
    cooldown_from = step
    if args.cooldown:
        session["lr_schedule"] = "cosine decay from %g to 0 over steps %d..%d" % (hp["lr"], step, step + args.cooldown)
    stats["sessions"].append(session)

    data_path = args.data or os.path.join(CACHE, args.dataset + ".npz")
    x_train, y_train = load_data(data_path, hp.get("labels", "category"))
    n_train = x_train.shape[0]
    stats["n_train"] = int(n_train)
    # Balanced draws weigh each image by 1 / (its class's size), so every class is drawn alike.
    draw_weights = 1.0 / torch.bincount(y_train).double()[y_train] if hp.get("balance_classes") else None
    sched = DDPMSchedule()
    loss_weights = p2_weights(sched, hp.get("p2_gamma", 0.0))
    print("dataset %s: %d training images %s, model %d params, config %s, hparams %s"
          % (args.dataset, n_train, tuple(x_train.shape[1:]), n_params, model.config, hp), flush=True)

    t_start = time.time()
    deadline = parse_until(args.until)
    stop = {"flag": False}

    def on_signal(signum, frame):
        print("signal %d: saving checkpoint and exiting" % signum, flush=True)
        stop["flag"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    window_losses = []
    window_t0 = time.time()
    window_s0 = step
    last_ckpt = time.time()
    loss_ema = stats.get("loss_ema")

    def save():
        now = time.time()
        session["wall_seconds"] = round(now - t_start, 1)
        session["end_step"] = step
        session["end_utc"] = utcnow().isoformat(timespec="seconds")
        stats["train_wall_seconds"] = round(sum(s["wall_seconds"] for s in stats["sessions"]), 1)
        stats["steps"] = step
        stats["loss_ema"] = loss_ema
        stats["samples_seen"] = step * hp["batch_size"]
        stats["epochs"] = round(step * hp["batch_size"] / n_train, 2)
        stats["s_per_step_overall"] = round(stats["train_wall_seconds"] / step, 4) if step else None
        atomic_torch_save({"config": model.config, "hparams": hp, "model": model.state_dict(),
                           "ema": ema.state_dict(), "optimizer": opt.state_dict(), "step": step,
                           "rng": {"torch": torch.get_rng_state(), "data": gen.get_state(),
                                   "python": random.getstate()},
                           "stats": stats}, ckpt_path)
        atomic_json(stats, stats_path)

    model.train()
    params = list(model.parameters())
    ema_params = list(ema.parameters())
    bs = hp["batch_size"]
    while True:
        now = time.time()
        if stop["flag"] or (args.max_steps is not None and step >= args.max_steps) \
                or (args.cooldown and step >= cooldown_from + args.cooldown) \
                or (args.minutes is not None and now - t_start >= args.minutes * 60) \
                or (deadline is not None and utcnow() >= deadline):
            break
        idx = torch.randint(0, n_train, (bs,), generator=gen)
        labels = None
        if cfg.get("num_classes"):
            uncond = torch.rand(bs, generator=gen) < hp["p_uncond"]
            if draw_weights is not None:
                # Only the labelled slots draw every class alike: p(x | class) does not depend on how often a
                # class occurs, but the null label's samples should keep the data's own mix of classes.
                idx = torch.where(uncond, idx, torch.multinomial(draw_weights, bs, replacement=True, generator=gen))
            labels = torch.where(uncond, torch.full((bs,), cfg["num_classes"], dtype=torch.int64), y_train[idx])
        x0 = x_train[idx]
        if hp["hflip"]:
            flip = torch.rand(bs, generator=gen) < 0.5
            x0 = torch.where(flip[:, None, None, None], x0.flip(3), x0)
        t = torch.randint(0, sched.T, (bs,), generator=gen)
        noise = torch.randn(x0.shape, generator=gen)
        xt = sched.q_sample(x0, t, noise)
        loss = torch.mean(loss_weights[t] * torch.mean((model(xt, t, labels) - noise) ** 2, dim=(1, 2, 3)))
        lr = hp["lr"] * min(1.0, (step - warmup_from + 1) / max(1, hp["warmup"]))
        if args.cooldown:
            lr *= 0.5 * (1 + math.cos(math.pi * (step - cooldown_from) / args.cooldown))
        for g in opt.param_groups:
            g["lr"] = lr * g["lr_mult"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(params, hp["grad_clip"])
        opt.step()
        step += 1
        decay = min(hp["ema_decay"], (1 + step) / (10 + step))
        with torch.no_grad():
            for e, p in zip(ema_params, params):
                e.mul_(decay).add_(p.detach(), alpha=1 - decay)
        lv = loss.item()
        if not math.isfinite(lv):
            sys.exit("non-finite loss at step %d; not saving" % step)
        window_losses.append(lv)
        loss_ema = lv if loss_ema is None else 0.99 * loss_ema + 0.01 * lv
        if step % args.log_every == 0:
            tw = time.time()
            rec = {"step": step, "loss": round(float(np.mean(window_losses)), 5), "loss_ema": round(loss_ema, 5),
                   "lr": lr, "grad_norm": round(float(gnorm), 4),
                   "s_per_step": round((tw - window_t0) / max(1, step - window_s0), 4),
                   "run_elapsed_s": round(tw - t_start, 1), "utc": utcnow().isoformat(timespec="seconds"),
                   "loadavg1": loadavg1()}
            stats["last_window"] = rec
            print(json.dumps(rec), flush=True)
            with open(log_path, "a") as f:
                f.write(json.dumps(rec) + "\n")
            window_losses = []
            window_t0 = tw
            window_s0 = step
        if time.time() - last_ckpt >= args.ckpt_minutes * 60:
            save()
            last_ckpt = time.time()
    if window_losses and step > window_s0:
        tw = time.time()
        rec = {"step": step, "loss": round(float(np.mean(window_losses)), 5), "loss_ema": round(loss_ema, 5),
               "s_per_step": round((tw - window_t0) / max(1, step - window_s0), 4),
               "run_elapsed_s": round(tw - t_start, 1), "utc": utcnow().isoformat(timespec="seconds"),
               "partial_window": True}
        print(json.dumps(rec), flush=True)
    save()
    print("stopped at step %d after %.1f s this run (%.1f s total); checkpoint %s"
          % (step, time.time() - t_start, stats["train_wall_seconds"], ckpt_path), flush=True)


if __name__ == "__main__":
    main()
