"""The arithmetic of U-LiRA (:mod:`supreme_metrics.ulira`): Gaussian fits per example, the
likelihood-ratio score, and the attack's rates. NumPy only."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

#: the false positive rates at which the true positive rate is reported
FPRS = (0.01, 0.001)
#: a standard deviation below this is raised to it (a constant φ would divide by zero)
MIN_STD = 1e-3
#: fewer shadows than this in a Gaussian fit leave the example out
MIN_SAMPLES = 2


def fit_gaussians(unlearned: np.ndarray, retrained: np.ndarray, members: np.ndarray, *,
                  global_variance: bool = True
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per example s, the Gaussians of φ under "unlearned" (``unlearned[k, s]`` over the
    shadows k with ``members[k, s]``: s was in shadow k's forget set) and under "retrained
    without it" (``retrained[k, s]`` over every k: no retrained shadow saw s).

    Returns ``(mu_in, sd_in, mu_out, sd_out, kept)``; ``kept[s]`` is false where fewer than
    :data:`MIN_SAMPLES` shadows unlearned s. With ``global_variance`` each side's standard
    deviation is pooled over the kept examples (LiRA's fixed-variance variant, steadier
    with few shadows); otherwise it is per example. Both are floored at :data:`MIN_STD`.
    """
    import numpy as np

    u, r = np.asarray(unlearned, float), np.asarray(retrained, float)
    m = np.asarray(members, bool)
    if not (u.shape == r.shape == m.shape) or u.ndim != 2:
        raise ValueError(f"need [shadows, examples] arrays of one shape, got {u.shape}, "
                         f"{r.shape} and {m.shape}")
    n_in = m.sum(0)
    kept = n_in >= MIN_SAMPLES
    mu_in = np.where(m, u, 0.0).sum(0) / np.maximum(n_in, 1)
    mu_out = r.mean(0)
    dev_in = np.where(m, (u - mu_in) ** 2, 0.0)
    dev_out = (r - mu_out) ** 2
    if global_variance and kept.any():
        sd_in = np.full(u.shape[1], np.sqrt(dev_in[:, kept].sum() / max(1, (n_in[kept] - 1).sum())))
        sd_out = np.full(u.shape[1], np.sqrt(dev_out[:, kept].sum()
                                             / max(1, (r.shape[0] - 1) * int(kept.sum()))))
    else:
        sd_in = np.sqrt(dev_in.sum(0) / np.maximum(n_in - 1, 1))
        sd_out = np.sqrt(dev_out.sum(0) / max(1, r.shape[0] - 1))
    return (mu_in, np.maximum(sd_in, MIN_STD), mu_out, np.maximum(sd_out, MIN_STD), kept)


def log_ratio(phi: np.ndarray, mu_in: np.ndarray, sd_in: np.ndarray, mu_out: np.ndarray,
              sd_out: np.ndarray) -> np.ndarray:
    """log N(φ; μ_in, σ_in) − log N(φ; μ_out, σ_out) per example: above 0, "unlearned" is
    the likelier explanation of the observed φ."""
    import numpy as np

    phi = np.asarray(phi, float)
    z_in, z_out = (phi - mu_in) / sd_in, (phi - mu_out) / sd_out
    return -0.5 * z_in**2 - np.log(sd_in) + 0.5 * z_out**2 + np.log(sd_out)


def tpr_at_fpr(positives: np.ndarray, negatives: np.ndarray, fpr: float) -> float:
    """The largest share of ``positives`` above a threshold t that puts at most ``fpr`` of
    ``negatives`` above t (t is ⌊fpr·n⌋+1-th largest negative; −∞ when that is all)."""
    import numpy as np

    pos, neg = np.asarray(positives, float), np.sort(np.asarray(negatives, float))[::-1]
    allowed = int(np.floor(fpr * len(neg) + 1e-9))
    threshold = neg[allowed] if allowed < len(neg) else -np.inf
    return float(np.mean(pos > threshold))


def auc(positives: np.ndarray, negatives: np.ndarray) -> float:
    """P(score of a positive > score of a negative), ties counted half (Mann–Whitney)."""
    import numpy as np

    pos, neg = np.asarray(positives, float), np.asarray(negatives, float)
    both = np.concatenate([pos, neg])
    order = both.argsort(kind="mergesort")
    ranks = np.empty(len(both))
    sorted_values = both[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_values, return_index=True, return_counts=True)
    average = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(average, counts)
    u_stat = ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2.0
    return float(u_stat / (len(pos) * len(neg)))


def attack(positives: np.ndarray, negatives: np.ndarray) -> dict[str, float]:
    """The attack "unlearned if the log-ratio is above 0" on the target rows' scores:
    ``balanced_accuracy`` (mean of its true positive and true negative rates), ``auc``,
    and the true positive rate at 1 % and 0.1 % false positive rate (best threshold)."""
    import numpy as np

    pos, neg = np.asarray(positives, float), np.asarray(negatives, float)
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("the attack needs at least one example on each side")
    return {
        "balanced_accuracy": float(0.5 * (np.mean(pos > 0) + np.mean(neg <= 0))),
        "auc": auc(pos, neg),
        "tpr_at_1pct_fpr": tpr_at_fpr(pos, neg, FPRS[0]),
        "tpr_at_0_1pct_fpr": tpr_at_fpr(pos, neg, FPRS[1]),
    }
