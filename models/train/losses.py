"""The training loss: its per-timestep weights, and how a run describes it.

train.py writes the description into the run's hyper-parameters (then model.json) and model_card.py
reads it back; both take it from here so the card can tell the simple loss from a weighted one.
"""

SIMPLE_LOSS = "MSE(eps, eps_pred), t ~ U{0..999}"


def loss_description(p2_gamma):
    """The loss of a run with P2 weighting exponent p2_gamma (0: the simple loss of Ho et al. 2020)."""
    if not p2_gamma:
        return SIMPLE_LOSS
    return "P2-weighted MSE(eps, eps_pred), weight 1 / (1 + SNR(t))^%g with mean 1, t ~ U{0..999}" % p2_gamma


def p2_weights(sched, gamma):
    """Per-timestep loss weights 1 / (1 + SNR(t))^gamma scaled to mean 1 (all ones for gamma 0; Choi et al. 2022)."""
    ac = sched.alphas_cumprod
    w = (1.0 + ac / (1.0 - ac)) ** -gamma
    return (w / w.mean()).float()
