"""Targets judged on 90% intervals, shared by the model card's sections: a target is met or missed only
when the whole interval lies on one side of its limit, otherwise it is undecided at that sample count."""
import math

Z90 = 1.645  # two-sided 90%: 5% in each tail


def verdict(lo, hi, limit, at_most):
    """'yes', '**no**' or 'undecided' for a 90% interval [lo, hi] against a limit (an upper one if at_most)."""
    if at_most:
        return "yes" if hi <= limit else ("**no**" if lo > limit else "undecided")
    return "yes" if lo >= limit else ("**no**" if hi < limit else "undecided")


def wilson(p, n, z=Z90):
    """Wilson score interval of a share p measured on n samples. Unlike p +- z se it does not collapse
    to a point at p = 0 or 1, so 200 of 200 correct does not prove a 99% rate."""
    if not n:
        return 0.0, 1.0
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)
