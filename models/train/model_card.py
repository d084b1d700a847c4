#!/usr/bin/env python3
"""Generate models/<name>/README.md (model card) from measured JSON only.

  /usr/bin/python3 models/train/model_card.py --dataset mnist
  /usr/bin/python3 models/train/model_card.py --dataset all

Reads models/<name>/model.json (written by export.py), models/<name>/eval/classifier.json
(classifier.py) and models/<name>/training_log.json. Evaluation metrics are NOT produced
here: the card links EVAL.md and samples.png, which `npm run eval` generates; if they
do not exist yet the card says so. Numbers missing from the JSON are shown as "n/a".
"""
import argparse
import json
import os

from card_guidance import guidance_section
from losses import SIMPLE_LOSS
from verdicts import verdict

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.normpath(os.path.join(HERE, ".."))


def load(path):
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return None


def fmt(v, spec=None):
    if v is None:
        return "n/a"
    if spec:
        return format(v, spec)
    return str(v)


def hms(sec):
    if sec is None:
        return "n/a"
    sec = int(round(sec))
    return "%d s (%dh %02dm %02ds)" % (sec, sec // 3600, sec % 3600 // 60, sec % 60)


SAMPLER_LABELS = {"ddpm": "DDPM", "ddim": "DDIM", "dpm-solver": "DPM-Solver++"}


def row_label(row):
    """'DDIM-50' for {"sampler": "ddim", "steps": 50}."""
    return "%s-%d" % (SAMPLER_LABELS.get(row["sampler"], row["sampler"]), row["steps"])


def targets(name, res, exp):
    """The first-release targets of the models issue, checked against the measured results and their
    90% intervals (binomial for shares, paired bootstrap for Frechet-distance ratios; see EVAL.md)."""
    rows = {(r["sampler"], r["steps"]): r for r in res.get("rows") or []}
    ddpm, ddim50 = rows.get(("ddpm", 1000)), rows.get(("ddim", 50))
    checks = []
    if name == "mnist" and ddpm and ddpm.get("confident") is not None:
        p, se = ddpm["confident"], ddpm["confidentSe"]
        lo, hi = max(0.0, p - 1.645 * se), min(1.0, p + 1.645 * se)
        checks.append(("DDPM-1000: >= 90% of samples recognisable (p >= 0.9)",
                       "%.1f%% (90%% interval %.1f%%-%.1f%%)" % (100 * p, 100 * lo, 100 * hi),
                       verdict(lo, hi, 0.9, at_most=False)))
        lo, hi = min(ddpm["histogram"]), max(ddpm["histogram"])
        checks.append(("DDPM-1000: every digit between 6% and 14%", "%.1f%%-%.1f%%" % (100 * lo, 100 * hi),
                       "yes" if lo >= 0.06 and hi <= 0.14 else "**no**"))
    for c in res.get("claims", []):
        num, den = c["numerator"], c["denominator"]
        what = ("within %gx of %s's Frechet distance" % (c["limit"], row_label(den))) if c["limit"] != 1 else \
            ("no worse than %s (Frechet distance)" % row_label(den))
        fd_num, fd_den = rows[(num["sampler"], num["steps"])]["frechet"], rows[(den["sampler"], den["steps"])]["frechet"]
        lo, hi = c["interval90"]
        checks.append(("%s %s" % (row_label(num), what), "%.3f vs %.3f: %.2fx (90%% interval %.2fx-%.2fx)"
                       % (fd_num, fd_den, c["ratio"], lo, hi), verdict(lo, hi, c["limit"], at_most=True)))
    if exp.get("bytes"):
        checks.append(("model.onnx under 40 MB", "%.1f MB" % (exp["bytes"] / 1e6), "yes" if exp["bytes"] < 40e6 else "**no**"))
    if name == "mnist" and ddim50:
        checks.append(("CPU time per DDIM-50 image under 1 s", "%.3f s" % ddim50["secondsPerImage"],
                       "yes" if ddim50["secondsPerImage"] < 1 else "**no**"))
    if not checks:
        return []
    out = ["", "### First-release targets", "", "| target | measured (%d samples per row) | met |" % res["samples"],
           "|---|---|---|"]
    for label, value, met in checks:
        out.append("| %s | %s | %s |" % (label, value, met))
    if name == "emoji":
        out.append("| a 64-sample grid in which a person sees emoji | the grid below | judged by eye, not measured |")
    out += ["", "A target is met or missed only when its whole 90% interval lies on one side of the limit; otherwise "
            "it is undecided at this sample count (more samples narrow the interval). The Frechet distance is biased "
            "upwards at small sample counts (the floor above shows by how much), which pulls ratios towards 1: below "
            "the issue's 1,000 (MNIST) and 500 (emoji) samples, a met ratio claim is weaker evidence than a missed one."]
    return out


def card(name, models_dir=MODELS):
    d = os.path.join(models_dir, name)
    m = load(os.path.join(d, "model.json"))
    if m is None:
        raise SystemExit("%s/model.json not found; run export.py first" % d)
    cls = load(os.path.join(d, "eval", "classifier.json"))
    tr = m.get("training", {})
    arch = m.get("architecture", {})
    cfg = arch.get("config", {})
    data = m.get("data", {})
    split = data.get("split", {})
    img = m["image"]
    sch = m["scheduler"]
    exp = m.get("export", {})
    chk = exp.get("onnx_check") or {}
    hw = tr.get("hardware") or {}
    gpus = list(dict.fromkeys(se["gpu"] for se in tr.get("sessions") or [] if se.get("gpu")))
    L = []
    L.append("<!-- Generated by models/train/model_card.py from model.json, eval/classifier.json and "
             "training_log.json. Do not edit by hand; re-run the script. -->")
    L.append("# ddpm-bot model: `%s`" % name)
    L.append("")
    L.append(m["description"])
    L.append("")
    L.append("| | |")
    L.append("|---|---|")
    L.append("| Image | %d x %d, %d channel%s, values in [-1, 1] |" % (img["height"], img["width"], img["channels"],
                                                                   "" if img["channels"] == 1 else "s"))
    L.append("| ONNX file | `%s` (%s bytes, opset %s, dynamic batch) |" % (m["onnx"], fmt(exp.get("bytes")),
                                                                           fmt(exp.get("opset"))))
    cond = m.get("conditioning")
    L.append("| Inputs | `sample` float32 [N,%d,%d,%d], `timestep` int64 [N]%s |"
             % (img["channels"], img["height"], img["width"],
                ", `class_labels` int64 [N] (0..%d; %d = no label)" % (cond["null_class"] - 1, cond["null_class"])
                if cond else ""))
    L.append("| Output | `noise_pred` float32 [N,%d,%d,%d] (epsilon) |" % (img["channels"], img["height"], img["width"]))
    weights = (m.get("architecture") or {}).get("weights", "EMA")
    L.append("| Weights | %s weights after %s training steps |" % (weights, fmt(tr.get("checkpoint_step"))))
    L.append("| License | %s |" % m["license"])
    L.append("")
    L.append("## License and attribution")
    L.append("")
    L.append(m["attribution"])
    if m.get("license_notes"):
        L.append("")
        L.append(m["license_notes"])
    L.append("")
    L.append("The weights were trained by the ddpm-bot project with the MIT-licensed recipe in "
             "[`models/train/`](../train/README.md).")
    L.append("")
    L.append("## Training data")
    L.append("")
    if data.get("source"):
        L.append("- Source: %s" % data["source"])
    if split:
        L.append("- Training images: %s; held-out images (never trained on): %s" % (fmt(split.get("n_train")),
                                                                                   fmt(split.get("n_test"))))
        L.append("- Held-out split: %s" % split.get("method", "n/a"))
    if "skin_tone_variations" in data:
        L.append("- Skin-tone variations: %s" % ("included" if data["skin_tone_variations"]
                                                  else "not included (base emoji only)"))
    if data.get("dropped_categories"):
        L.append("- Dropped categories: %s" % ", ".join(data["dropped_categories"]))
    if data.get("classes") and split.get("train_per_class"):
        L.append("")
        L.append("| Class | train | held-out |")
        L.append("|---|---:|---:|")
        for c, a, b in zip(data["classes"], split["train_per_class"], split.get("test_per_class", [])):
            L.append("| %s | %d | %d |" % (c, a, b))
    L.append("")
    L.append("## Architecture")
    L.append("")
    L.append("%s: %s parameters. Base channels %s, channel multipliers %s, %s residual block(s) per level "
             "(GroupNorm(%s groups) + SiLU, timestep embedding: sinusoidal -> MLP), self-attention at %s px "
             "and in the middle block, dropout %s, stride-2 conv downsampling, nearest-neighbour + conv "
             "upsampling, skip connections."
             % (arch.get("type", "UNet"), fmt(arch.get("params"), ","), fmt(cfg.get("ch")), fmt(cfg.get("ch_mult")),
                fmt(cfg.get("num_res_blocks")), fmt(cfg.get("groups")), fmt(cfg.get("attn_resolutions")),
                fmt(cfg.get("dropout"))))
    L.append("")
    loss = tr.get("loss") or SIMPLE_LOSS
    loss = "simple loss (MSE between true and predicted noise, t uniform)" if loss == SIMPLE_LOSS else "loss " + loss
    L.append("Diffusion: T = %d, %s betas %g..%g, %s prediction, %s. Scheduler config for sampling is in "
             "`model.json` (`variance_type` %s, `clip_sample` %s)."
             % (sch["num_train_timesteps"], sch["beta_schedule"], sch["beta_start"], sch["beta_end"],
                sch["prediction_type"], loss, sch["variance_type"], json.dumps(sch["clip_sample"])))
    if not sch["clip_sample"]:
        L.append("")
        L.append("`clip_sample` is off because clipping x0 makes deterministic DDIM drift: it then steps along an "
                 "epsilon that no longer matches the clipped x0 (diffusers' `use_clipped_model_output` is off by "
                 "default), and the error grows with the step count.")
    L.append("")
    L.append("## Training (measured)")
    L.append("")
    L.append("| | |")
    L.append("|---|---|")
    L.append("| Steps | %s |" % fmt(tr.get("steps")))
    L.append("| Batch size | %s |" % fmt(tr.get("batch_size")))
    L.append("| Epochs (images seen / training images) | %s |" % fmt(tr.get("epochs")))
    L.append("| Optimizer | %s, lr %s, %s warmup steps, grad clip %s |"
             % (fmt(tr.get("optimizer")), fmt(tr.get("lr")), fmt(tr.get("lr_warmup_steps")), fmt(tr.get("grad_clip"))))
    L.append("| EMA decay | %s |" % fmt(tr.get("ema_decay")))
    L.append("| Random horizontal flip | %s |" % ("yes" if tr.get("random_hflip") else "no"))
    if "balanced_class_draws" in tr:
        L.append("| Labelled examples drawn equally often per class (`--balance-classes`) | %s |"
                 % ("yes" if tr["balanced_class_draws"] else "no (in proportion to the data)"))
    L.append("| Final training loss | %s (%s) |" % (fmt(tr.get("final_loss")), fmt(tr.get("final_loss_note"))))
    L.append("| Wall time | %s |" % hms(tr.get("wall_seconds")))
    L.append("| Mean seconds per step | %s |" % fmt(tr.get("s_per_step")))
    cpus = list(dict.fromkeys(se["cpu"] for se in tr.get("sessions") or [] if se.get("cpu"))) or [hw.get("cpu")]
    L.append("| Hardware | %s%s; %s logical cores, shared with other jobs |"
             % ("GPU: %s (the sessions that name it); CPU: " % " / ".join(gpus) if gpus else "CPU only: ",
                " / ".join(fmt(c) for c in cpus), fmt(hw.get("logical_cores"))))
    L.append("| PyTorch | %s |" % fmt(tr.get("torch_version")))
    L.append("")
    sessions = tr.get("sessions") or []
    if sessions:
        L.append("Training sessions (wall time is elapsed time including waiting for a busy CPU; the machine was "
                 "shared with the other model's training and with other jobs):")
        L.append("")
        L.append("| Start (UTC) | End (UTC) | Steps | Wall s | s/step | torch threads | nice | %s |"
                 % ("CPU or GPU" if gpus else "CPU"))
        L.append("|---|---|---:|---:|---:|---:|---:|---|")
        for se in sessions:
            n = (se.get("end_step") or 0) - (se.get("start_step") or 0)
            w = se.get("wall_seconds")
            L.append("| %s | %s | %s -> %s | %s | %s | %s | %s | %s |"
                     % (fmt(se.get("start_utc")), fmt(se.get("end_utc")), fmt(se.get("start_step")),
                        fmt(se.get("end_step")), fmt(w), fmt(round(w / n, 3) if n and w else None),
                        fmt(se.get("threads")), fmt(se.get("nice")), fmt(se.get("gpu") or se.get("cpu"))))
        L.append("")
        for se in sessions:
            if se.get("lr_schedule"):
                L.append("The session from step %s ran with `--cooldown`: %s (it ended at step %s)."
                         % (fmt(se.get("start_step")), se["lr_schedule"], fmt(se.get("end_step"))))
                L.append("")
    for w in tr.get("warm_starts") or []:
        L.append("At step %s (%s) training continued on a machine without the checkpoint (`train.py --warm-start`): "
                 "model and EMA started from the weights in the shipped `model.onnx`, the optimizer moments and LR warmup "
                 "restarted." % (fmt(w.get("step")), fmt(w.get("utc"))))
        L.append("")
    L.append("The loss curve (mean loss per 100 steps) is in `training_log.json`.")
    L.append("")
    L.append("## ONNX export check")
    L.append("")
    if chk:
        L.append("onnxruntime-node output vs. PyTorch on random input (batch %s, timesteps %s): max |diff| = %s "
                 "(tolerance %s) -> %s."
                 % (fmt(chk.get("batch")), fmt(chk.get("timesteps")), fmt(chk.get("max_abs_diff"), ".3g"),
                    fmt(chk.get("tol")), "passed" if chk.get("ok") else "FAILED"))
    else:
        L.append("Not run.")
    L.append("")
    L.append("## Evaluation feature network")
    L.append("")
    if cls:
        L.append("`eval/classifier.onnx`: a small CNN (%s parameters) trained on the training split, used as the "
                 "feature network for evaluating generated images. Input `image` [N,%d,%d,%d] float32 (%s); outputs "
                 "`logits` [N,%d] and `features` [N,%d]."
                 % (fmt(cls.get("params"), ","), img["channels"], img["height"], img["width"], cls["input_scaling"],
                    cls["num_classes"], cls["feature_dim"]))
        L.append("")
        L.append("Held-out accuracy: **%.2f%%** on %d held-out images (%d classes: %s)."
                 % (100 * cls["heldout_accuracy"], cls["n_heldout"], cls["num_classes"], ", ".join(cls["classes"])))
    else:
        L.append("Not trained yet (run `models/train/classifier.py --dataset %s`)." % name)
    L.append("")
    L.append("## Evaluation: see EVAL.md (generated by npm run eval)")
    L.append("")
    has_eval = os.path.exists(os.path.join(d, "EVAL.md"))
    has_png = os.path.exists(os.path.join(d, "samples.png"))
    L.append("Sample-quality metrics (computed with the feature network above against the held-out images) are "
             "produced by the TypeScript evaluation, `npm run eval`, into [`EVAL.md`](EVAL.md) (with a sample grid "
             "per row); the summary below is read from its `eval/results.json`.")
    results_path = os.path.join(d, "eval", "results.json")
    res = load(results_path)
    if res and res.get("rows"):
        bpd = res.get("bitsPerDim") or {}
        L.append("")
        L.append("%d samples per row (%s, %s). Frechet distance floor (%d real images vs the held-out set): **%.3f**. "
                 % (res["samples"], res["date"][:10], res["machine"], res["floorCount"], res["floor"])
                 + ("Variational bound on %d held-out images: **%.3f +- %.3f bits/dim**."
                    % (bpd["images"], bpd["mean"], bpd["standardError"]) if bpd else ""))
        if cond:
            L.append("")
            L.append("These rows are the class-conditional model's unconditional samples (no label).")
        L.append("")
        digits = any(r.get("confident") is not None for r in res["rows"])
        if digits:
            L.append("p >= 0.9: share of samples the classifier assigns a class with p >= 0.9, +- its binomial standard "
                     "error (held-out real digits: %.1f%%); classes: the smallest and largest share of any digit."
                     % (100 * res["heldoutConfident"]))
            L.append("")
        L.append("+- after a Frechet distance: its standard deviation over %d bootstrap resamples of the generated "
                 "samples, i.e. how much it would move with other seeds." % res["bootstrapResamples"])
        L.append("")
        L.append("| sampler | steps | Frechet distance | %ss / image |" % ("p >= 0.9 | classes | " if digits else ""))
        L.append("|---|---:|---:|%s---:|" % ("---:|---:|" if digits else ""))
        for r in res["rows"]:
            conf = ("%.1f%% +- %.1f | %.0f%%-%.0f%% | " % (100 * r["confident"], 100 * r["confidentSe"], 100 * min(r["histogram"]),
                                                         100 * max(r["histogram"]))) if digits else ""
            L.append("| %s | %d | %.3f +- %.3f | %s%.3f |" % (r["sampler"], r["steps"], r["frechet"], r["frechetBootstrapSd"], conf,
                                                             r["secondsPerImage"]))
        L.extend(targets(name, res, exp))
    if res:
        L.extend(guidance_section(name, res, d))
    if not has_eval:
        L.append("")
        L.append("> EVAL.md has not been generated yet.")
    L.append("")
    L.append("### Samples")
    L.append("")
    if has_png:
        L.append("![samples](samples.png)")
    else:
        L.append("> `samples.png` (a sample grid) has not been generated yet; `npm run eval` writes it.")
    L.append("")
    L.append("## Limitations")
    L.append("")
    L.append("Small model trained for a short time on a 2-core CPU" + (" and a GPU" if gpus else "") + ": samples are low-resolution and imperfect. "
             + ("Conditioned on %d classes (%s) with classifier-free guidance; no text prompts."
                % (len(cond["classes"]), ", ".join(cond["classes"])) if cond else
                "Unconditional generation only (no class or text conditioning)."))
    L.append("")
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=["mnist", "emoji", "all"], default="all")
    ap.add_argument("--models-dir", default=MODELS, help="folder holding <name>/model.json (default %(default)s)")
    args = ap.parse_args()
    for name in (["mnist", "emoji"] if args.dataset == "all" else [args.dataset]):
        text = card(name, args.models_dir)
        path = os.path.join(args.models_dir, name, "README.md")
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
        print("wrote %s" % path)


if __name__ == "__main__":
    main()
