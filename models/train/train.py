#!/usr/bin/env python3
"""Train a small DDPM (epsilon prediction, linear betas, T=1000; the simple loss or P2-weighted) on CPU.

  /usr/bin/python3 models/train/train.py --dataset mnist --until 17:35
  /usr/bin/python3 models/train/train.py --dataset emoji --minutes 90

The run directory (default .cache/train/<dataset>/) holds:
  last.pt          checkpoint (model, EMA, optimizer, step, RNG states, config), written
                   atomically every --ckpt-minutes and at exit (also on SIGTERM/SIGINT)
  log.jsonl        one JSON line per --log-every steps (loss, s/step, lr, ...)
  train_stats.json measured totals (steps, wall seconds, hardware, torch version, loss),
                   read by export.py and model_card.py

Training resumes automatically from last.pt when it exists (use --fresh to ignore it).
If last.pt is lost, --warm-start continues from the shipped model instead (warm_start.py): model and EMA
start from the weights in models/<dataset>/model.onnx (needs the `onnx` Python package, Debian python3-onnx),
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
import json
import math
import os
import random
import signal
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from losses import SIMPLE_LOSS, loss_description, p2_weights  # noqa: E402
from run_record import atomic_json, atomic_torch_save, loadavg1, parse_until, start_session, update_totals, utcnow  # noqa: E402
from train_data import CACHE, balanced_draw_weights, data_path, draw_batch, load_data, n_classes  # noqa: E402
from unet import CONFIGS, DDPMSchedule, UNet, count_params  # noqa: E402
from warm_start import apply_warm_start, prepare_warm_start  # noqa: E402


def parse_args():
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
    ap.add_argument("--device", default="auto",
                    help="torch device: auto (cuda when torch sees a GPU, else cpu), cpu, cuda or cuda:N. The data "
                         "order, timesteps and noise are drawn on the CPU, so a run draws the same batches anywhere")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ckpt-minutes", type=float, default=3.0)
    ap.add_argument("--log-every", type=int, default=100)
    return ap.parse_args()


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



def pick_device(name):
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        sys.exit("--device %s: expected auto, cpu, cuda or cuda:N" % name)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("--device %s: this torch sees no CUDA GPU (torch %s)" % (name, torch.__version__))
    return device


def initial_config(args):
    """Network config and hyper-parameters of a run that starts from scratch."""
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
    if args.conditional:
        hp["labels"] = args.labels or "category"
        cfg["num_classes"] = n_classes(args, hp["labels"])
        hp["p_uncond"] = args.p_uncond
    return cfg, hp


def apply_overrides(args, cfg, hp):
    """Options that change a resumed or warm-started run's stored hyper-parameters."""
    if args.class_lr_mult is not None:
        hp["class_lr_mult"] = args.class_lr_mult
    if args.balance_classes is not None:
        if args.balance_classes and not cfg.get("num_classes"):
            sys.exit("--balance-classes 1 needs a conditional model (--conditional)")
        hp["balance_classes"] = bool(args.balance_classes)
    if args.p2_gamma is not None:
        hp["p2_gamma"] = args.p2_gamma
        hp["loss"] = loss_description(args.p2_gamma)


def window_record(step, window_losses, loss_ema, window_t0, window_s0, t_start):
    """The log line of the steps since the last one: mean loss, speed, time."""
    tw = time.time()
    return {"step": step, "loss": round(float(np.mean(window_losses)), 5), "loss_ema": round(loss_ema, 5),
            "s_per_step": round((tw - window_t0) / max(1, step - window_s0), 4),
            "run_elapsed_s": round(tw - t_start, 1), "utc": utcnow().isoformat(timespec="seconds")}


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    out = args.out or os.path.join(CACHE, args.dataset)
    os.makedirs(out, exist_ok=True)
    ckpt_path = os.path.join(out, "last.pt")
    stats_path = os.path.join(out, "train_stats.json")
    log_path = os.path.join(out, "log.jsonl")

    cfg, hp = initial_config(args)
    ckpt = warm = None
    if os.path.exists(ckpt_path) and not args.fresh:
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)  # our own checkpoint (holds RNG state)
        cfg = ckpt["config"]
        hp = ckpt["hparams"]
        print("resuming from %s at step %d" % (ckpt_path, ckpt["step"]), flush=True)
    elif args.resume:
        sys.exit("--resume given but no checkpoint at %s" % ckpt_path)
    elif args.warm_start:
        warm, cfg, hp = prepare_warm_start(args)
    if args.grow_res_blocks is not None and warm is None:
        sys.exit("--grow-res-blocks needs --warm-start (and no checkpoint in the run directory)")
    torch.manual_seed(hp["seed"])
    random.seed(hp["seed"])
    model = UNet(**cfg).to(device)
    ema = copy.deepcopy(model).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    apply_overrides(args, cfg, hp)
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
    if warm is not None:
        stats = apply_warm_start(warm, model, ema, cfg)
        step = warmup_from = warm["step"]
        # A fresh data order: replaying the first run's batches from step 0 would repeat them.
        gen.manual_seed(hp["seed"] + 1 + step)
    stats, session = start_session(stats, args.dataset, model, hp, args.threads, device, step, args.cooldown)
    cooldown_from = step

    x_train, y_train = load_data(data_path(args), hp.get("labels", "category"))
    n_train = x_train.shape[0]
    stats["n_train"] = int(n_train)
    draw_weights = balanced_draw_weights(y_train) if hp.get("balance_classes") else None
    sched = DDPMSchedule()
    loss_weights = p2_weights(sched, hp.get("p2_gamma", 0.0)).to(device)
    print("dataset %s: %d training images %s, model %d params, config %s, hparams %s"
          % (args.dataset, n_train, tuple(x_train.shape[1:]), count_params(model), model.config, hp), flush=True)

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
        update_totals(stats, session, step, time.time() - t_start, loss_ema, n_train)
        atomic_torch_save({"config": model.config, "hparams": hp, "model": model.state_dict(),
                           "ema": ema.state_dict(), "optimizer": opt.state_dict(), "step": step,
                           "rng": {"torch": torch.get_rng_state(), "data": gen.get_state(),
                                   "python": random.getstate()},
                           "stats": stats}, ckpt_path)
        atomic_json(stats, stats_path)

    model.train()
    params = list(model.parameters())
    ema_params = list(ema.parameters())
    while True:
        if stop["flag"] or (args.max_steps is not None and step >= args.max_steps) \
                or (args.cooldown and step >= cooldown_from + args.cooldown) \
                or (args.minutes is not None and time.time() - t_start >= args.minutes * 60) \
                or (deadline is not None and utcnow() >= deadline):
            break
        x0, labels = draw_batch(x_train, y_train, cfg.get("num_classes"), hp, draw_weights, gen)
        t = torch.randint(0, sched.T, (x0.shape[0],), generator=gen)
        noise = torch.randn(x0.shape, generator=gen)
        xt, t, noise = sched.q_sample(x0, t, noise).to(device), t.to(device), noise.to(device)
        labels = labels.to(device) if labels is not None else None
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
            rec = window_record(step, window_losses, loss_ema, window_t0, window_s0, t_start)
            rec.update(lr=lr, grad_norm=round(float(gnorm), 4), loadavg1=loadavg1())
            stats["last_window"] = rec
            print(json.dumps(rec), flush=True)
            with open(log_path, "a") as f:
                f.write(json.dumps(rec) + "\n")
            window_losses = []
            window_t0 = time.time()
            window_s0 = step
        if time.time() - last_ckpt >= args.ckpt_minutes * 60:
            save()
            last_ckpt = time.time()
    if window_losses and step > window_s0:
        rec = window_record(step, window_losses, loss_ema, window_t0, window_s0, t_start)
        print(json.dumps(dict(rec, partial_window=True)), flush=True)
    save()
    print("stopped at step %d after %.1f s this run (%.1f s total); checkpoint %s"
          % (step, time.time() - t_start, stats["train_wall_seconds"], ckpt_path), flush=True)


if __name__ == "__main__":
    main()
