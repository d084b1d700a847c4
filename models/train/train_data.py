"""The training set written by prepare_data.py, and how a training step draws its batch from it."""
import json
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.normpath(os.path.join(HERE, "..", "..", ".cache", "train"))


def data_path(args):
    return args.data or os.path.join(CACHE, args.dataset + ".npz")


def load_data(path, labels):
    d = np.load(path)
    x = torch.from_numpy(d["x_train"].astype(np.float32) / 127.5 - 1.0)
    return x, torch.from_numpy(d["ysub_train" if labels == "subcategory" else "y_train"].astype(np.int64))


def data_meta(args):
    """The dataset's .json written by prepare_data.py."""
    with open(os.path.splitext(data_path(args))[0] + ".json") as f:
        return json.load(f)


def n_classes(args, labels):
    return len(data_meta(args)["subclasses" if labels == "subcategory" else "classes"])


def balanced_draw_weights(y_train):
    """Each image weighted by 1 / (its class's size), so every class is drawn alike."""
    return 1.0 / torch.bincount(y_train).double()[y_train]


def draw_batch(x_train, y_train, num_classes, hp, draw_weights, gen):
    """Images and labels of one step: labels replaced by the null class with probability p_uncond, and
    (with draw_weights) the labelled slots drawn class-balanced; a random horizontal flip when hp["hflip"]."""
    bs = hp["batch_size"]
    idx = torch.randint(0, x_train.shape[0], (bs,), generator=gen)
    labels = None
    if num_classes:
        uncond = torch.rand(bs, generator=gen) < hp["p_uncond"]
        if draw_weights is not None:
            # Only the labelled slots draw every class alike: p(x | class) does not depend on how often a
            # class occurs, but the null label's samples should keep the data's own mix of classes.
            idx = torch.where(uncond, idx, torch.multinomial(draw_weights, bs, replacement=True, generator=gen))
        labels = torch.where(uncond, torch.full((bs,), num_classes, dtype=torch.int64), y_train[idx])
    x0 = x_train[idx]
    if hp["hflip"]:
        flip = torch.rand(bs, generator=gen) < 0.5
        x0 = torch.where(flip[:, None, None, None], x0.flip(3), x0)
    return x0, labels
