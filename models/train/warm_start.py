"""--warm-start: continue training from the shipped models/<dataset>/model.onnx when no checkpoint exists.

The weights come out of the ONNX file, the step count, config, hyper-parameters and sessions out of
training_log.json; the optimizer moments restart. The network may be made conditional (a zero class
embedding), re-labelled from categories to subcategories, or grown by identity residual blocks, each
starting out computing what the shipped network does.
"""
import json
import os
import sys
import tempfile

import numpy as np
import torch

from run_record import utcnow
from train_data import data_meta, n_classes
from unet import UNet, count_params, grow_res_blocks

HERE = os.path.dirname(os.path.abspath(__file__))


def load_shipped(dataset):
    """Weights, step and statistics of models/<dataset>/, written by export.py."""
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


def class_emb_from_categories(weights, args):
    """A category-conditional model's class embedding spread over the subcategories: each subcategory
    starts at its category's row (the null label keeps its row), so the network starts out unchanged."""
    parent = data_meta(args)["subclass_parent"]
    old = weights["class_emb.weight"]
    return torch.cat([old[torch.tensor(parent)], old[-1:]])


def prepare_warm_start(args):
    """The shipped model and the config and hyper-parameters this run trains it with."""
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
    return warm, cfg, hp


def check_grown(shipped_weights, grown_from, weights, cfg):
    """The grown network must compute what the shipped one does; refuse to train from anything else."""
    shipped = UNet(**grown_from).eval()
    shipped.load_state_dict(shipped_weights)
    trial = UNet(**cfg).eval()
    trial.load_state_dict(weights)
    x = torch.randn(4, cfg["in_channels"], cfg["image_size"], cfg["image_size"], generator=torch.Generator().manual_seed(0))
    t = torch.tensor([0, 300, 600, 999])
    labels = torch.tensor([0, 1, 2, cfg["num_classes"]]) if cfg.get("num_classes") else None
    with torch.no_grad():
        diff = (shipped(x, t, labels) - trial(x, t, labels)).abs().max().item()
    if diff > 1e-5:
        sys.exit("the grown network differs from the shipped one by %g" % diff)
    print("grown to %d residual blocks per level: %d parameters, same output (max difference %g)"
          % (cfg["num_res_blocks"], count_params(trial), diff), flush=True)


def apply_warm_start(warm, model, ema, cfg):
    """Load the shipped (or grown) weights into model and EMA; the stats gain a warm_starts entry."""
    weights = warm["weights"]
    if "grown_from" in warm:
        weights = grow_res_blocks(warm["weights"], warm["grown_from"], model)
        check_grown(warm["weights"], warm["grown_from"], weights, cfg)
    # strict=False only for the class embedding a conditional run adds to unconditional weights.
    for net in (model, ema):
        missing, unexpected = net.load_state_dict(weights, strict=False)
        if unexpected or set(missing) - {"class_emb.weight"}:
            sys.exit("shipped weights do not fit this network: missing %s, unexpected %s" % (missing, unexpected))
    stats = warm["stats"]
    grown = ("; grown from %d to %d residual blocks per level" % (warm["grown_from"]["num_res_blocks"],
                                                                cfg["num_res_blocks"])
             if "grown_from" in warm else "")
    stats["warm_starts"] = stats.get("warm_starts", []) + [
        {"step": warm["step"], "utc": utcnow().isoformat(timespec="seconds"),
         "from": "weights of the exported model.onnx; optimizer moments reset" + grown}]
    return stats
