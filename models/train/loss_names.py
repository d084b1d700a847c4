"""How a run's training loss is described in its hyper-parameters, model.json and model card.

train.py writes the description and model_card.py reads it back; both take it from here so the
card can tell the simple loss from a weighted one without a copied string.
"""

SIMPLE_LOSS = "MSE(eps, eps_pred), t ~ U{0..999}"


def loss_description(p2_gamma):
    """The loss of a run with P2 weighting exponent p2_gamma (0: the simple loss of Ho et al. 2020)."""
    if not p2_gamma:
        return SIMPLE_LOSS
    return "P2-weighted MSE(eps, eps_pred), weight 1 / (1 + SNR(t))^%g with mean 1, t ~ U{0..999}" % p2_gamma
