r"""The seed-distribution forgetting quality of the NeurIPS 2023 unlearning challenge.

The arithmetic (NumPy) of the grid metric :mod:`supreme_metrics.forget_quality`, which
feeds it the stored per-example outputs of many M_u and M_r. For a forget example x, with
φ(M, x) = log p_y(x) − log(1 − p_y(x)) the logit-scaled confidence of model M in x's label
(:func:`logit_scaled_confidence`), let U = {φ(M_u^(i), x)} over the unlearned models
(unlearning and training seeds) and R = {φ(M_r^(j), x)} over the retrained ones. For every
threshold t among the observed values, the attack "unlearned if φ > t" has a false positive
rate FPR(t) (share of R above t) and a false negative rate FNR(t) (share of U at or below
t), each floored at one model's share (1/|R|, 1/|U|: a rate estimated from k models is
never known to be below 1/k); with δ::

    ε_t(x) = max( log(1 − δ − FPR) − log FNR,  log(1 − δ − FNR) − log FPR )
    ε(x)   = max(0, max over thresholds t of ε_t(x))       (terms with log of ≤ 0 dropped)
    n(x)   = #{k ∈ 0..B−1 : k · w ≤ ε(x)}           (bin index, width w, B bins)
    F      = (1/|D_f|) · Σ_x 2 / 2^{n(x)}            in (0, 1]

F = 1 when no threshold attack tells M_u from M_r on any example (every ε below w); it
falls towards 2^{1−B} as the attacks succeed. The challenge's published evaluation uses
δ = 0.01, w = 0.1 and B = 13 (the defaults here). The finest rates a threshold can
produce with n and m models are 1/n and 1/m, so ε cannot exceed about log(min(n, m)):
with fewer than :data:`MIN_RUNS` models per side the estimate is coarse. The maximum over
thresholds also biases ε upwards: two samples of one distribution score below 1 (about
0.4 with 512 models each, 0.1–0.2 with 8–128), so a method's F is read against the same
estimate between retrained models, not against 1.

Differences from the challenge's code: ε is clipped at 0 (an ε of privacy cannot be
negative; their code bins a negative ε to index 0, scoring 2 for that example), and a
zero rate is floored at one model's share instead of discarding that threshold (their
code discards it, so perfectly separated U and R, the clearest failure to forget, scored
as perfect forgetting).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import torch

#: fewer models than this per side (unlearned, retrained) give a coarse ε
MIN_RUNS = 8
DELTA = 0.01
BIN_WIDTH = 0.1
BINS = 13


def logit_scaled_confidence(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """φ = log p_y − log(1 − p_y) per row, computed stably as z_y − logsumexp_{c≠y} z_c."""
    import torch

    z = logits.double()
    picked = z.gather(1, labels.long().view(-1, 1)).squeeze(1)
    others = z.scatter(1, labels.long().view(-1, 1), float("-inf"))
    return picked - torch.logsumexp(others, dim=1)


def threshold_rates(unlearned: np.ndarray, retrained: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``(FPR, FNR)`` of "unlearned if φ > t" at every observed value t, each floored at
    one model's share."""
    import numpy as np

    u, r = np.sort(np.asarray(unlearned, float)), np.sort(np.asarray(retrained, float))
    thresholds = np.unique(np.concatenate([u, r]))
    fpr = 1.0 - np.searchsorted(r, thresholds, side="right") / len(r)
    fnr = np.searchsorted(u, thresholds, side="right") / len(u)
    return np.maximum(fpr, 1.0 / len(r)), np.maximum(fnr, 1.0 / len(u))


def epsilon(fpr: np.ndarray, fnr: np.ndarray, delta: float = DELTA) -> float:
    """ε of one example from the attack's rates (see the module docstring)."""
    import numpy as np

    a, b = np.asarray(fpr, float), np.asarray(fnr, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        one = np.log(np.clip(1.0 - delta - a, 0, None)) - np.log(b)
        two = np.log(np.clip(1.0 - delta - b, 0, None)) - np.log(a)
    both = np.fmax(one, two)  # a nan (log of a non-positive number) drops that term
    both = both[~np.isnan(both)]
    return float(max(0.0, both.max())) if both.size else 0.0


def forget_quality(unlearned: np.ndarray, retrained: np.ndarray, *, delta: float = DELTA,
                   bin_width: float = BIN_WIDTH, bins: int = BINS) -> dict[str, float]:
    """F over the forget examples from ``unlearned`` ``[n models, S examples]`` and
    ``retrained`` ``[m models, S examples]`` of φ; also the median and largest ε."""
    import numpy as np

    u, r = np.asarray(unlearned, float), np.asarray(retrained, float)
    if u.ndim != 2 or r.ndim != 2 or u.shape[1] != r.shape[1] or 0 in u.shape or 0 in r.shape:
        raise ValueError(f"need [models, examples] arrays with the same examples, got "
                         f"{u.shape} and {r.shape}")
    eps = np.array([epsilon(*threshold_rates(u[:, s], r[:, s]), delta) for s in range(u.shape[1])])
    edges = np.arange(bins) * bin_width
    index = np.searchsorted(edges, eps, side="right")  # edges at or below ε
    return {"forget_quality": float(np.mean(2.0 / 2.0 ** index)),
            "epsilon_median": float(np.median(eps)), "epsilon_max": float(eps.max()),
            "unlearned_models": float(u.shape[0]), "retrained_models": float(r.shape[0])}
