"""What a training run records about itself (times, the machine, its load) and how it writes its files."""
import datetime as dt
import json
import os
import platform

import torch

from unet import count_params


def utcnow():
    return dt.datetime.now(dt.timezone.utc)


def parse_until(s):
    """--until: HH:MM (UTC, the next such time within 12 hours back) or an ISO 8601 time; None passes through."""
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


def hardware_info(threads, device):
    info = {"device": device.type, "cpu": cpu_name(), "logical_cores": os.cpu_count(), "torch_threads": threads,
            "note": "shared machine: other jobs (and the other model's training) ran concurrently; "
                    "per-session threads, niceness and load average are in `sessions`"}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def loadavg1():
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def atomic_torch_save(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def atomic_json(obj, path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


def start_session(stats, dataset, model, hp, threads, device, step, cooldown):
    """The run's statistics (new, or carried from a checkpoint or warm start) with this invocation's session."""
    if stats is None:
        stats = {"dataset": dataset, "params": count_params(model), "config": model.config,
                 "hparams": hp, "train_wall_seconds": 0.0, "steps": 0, "sessions": []}
    # A warm start or --class-lr-mult may have changed them since the stats were first written.
    stats["config"] = model.config
    stats["hparams"] = hp
    stats["torch_version"] = torch.__version__
    stats["hardware"] = hardware_info(threads, device)
    session = {"start_utc": utcnow().isoformat(timespec="seconds"), "start_step": step, "end_step": step,
               "wall_seconds": 0.0, "threads": threads, "nice": os.nice(0), "loadavg1_start": loadavg1(),
               "cpu": stats["hardware"]["cpu"]}
    if "gpu" in stats["hardware"]:
        session["gpu"] = stats["hardware"]["gpu"]
    if cooldown:
        session["lr_schedule"] = "cosine decay from %g to 0 over steps %d..%d" % (hp["lr"], step, step + cooldown)
    stats["sessions"].append(session)
    return stats, session


def update_totals(stats, session, step, wall_seconds, loss_ema, n_train):
    """Bring the session and the run's totals up to this step (before each checkpoint)."""
    session["wall_seconds"] = round(wall_seconds, 1)
    session["end_step"] = step
    session["end_utc"] = utcnow().isoformat(timespec="seconds")
    stats["train_wall_seconds"] = round(sum(s["wall_seconds"] for s in stats["sessions"]), 1)
    stats["steps"] = step
    stats["loss_ema"] = loss_ema
    batch_size = stats["hparams"]["batch_size"]
    stats["samples_seen"] = step * batch_size
    stats["epochs"] = round(step * batch_size / n_train, 2)
    stats["s_per_step_overall"] = round(stats["train_wall_seconds"] / step, 4) if step else None
