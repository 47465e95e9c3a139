"""The tensor formulas the metrics share. Imports torch: import it inside ``compute``.

Every function takes logits (``[N, C]``) and works in float64, so that per-sample sums
over a few thousand samples do not lose precision and softmax underflow is handled
explicitly rather than producing ``inf``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LN2 = math.log(2.0)


def log_probabilities(logits: torch.Tensor) -> torch.Tensor:
    return F.log_softmax(logits.double(), dim=1)


def accuracy_percent(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """100 · (1/N) Σ_i 1[argmax_c z_ic = y_i]."""
    return 100.0 * float((logits.argmax(dim=1) == labels).double().mean())


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """(1/N) Σ_i -log softmax(z_i)_{y_i}."""
    return float(F.cross_entropy(logits.double(), labels.long(), reduction="mean"))


def js_per_sample(logits_a: torch.Tensor, logits_b: torch.Tensor) -> torch.Tensor:
    """JS(p_i, q_i) = ½ KL(p_i‖m_i) + ½ KL(q_i‖m_i), m_i = (p_i + q_i)/2, in nats, per sample.

    With d = log p - log q, log(p/m) = ln 2 - softplus(-d) and log(q/m) = ln 2 - softplus(d),
    so it is finite where a softmax underflows, exactly 0 for identical outputs, and lies
    in [0, ln 2].
    """
    log_p, log_q = log_probabilities(logits_a), log_probabilities(logits_b)
    p, q = log_p.exp(), log_q.exp()
    d = log_p - log_q
    from_p = torch.where(p > 0, p * (LN2 - F.softplus(-d)), torch.zeros_like(p))
    from_q = torch.where(q > 0, q * (LN2 - F.softplus(d)), torch.zeros_like(q))
    js = 0.5 * (from_p.sum(dim=1) + from_q.sum(dim=1))
    return js.clamp_(0.0, LN2)  # rounding can leave ~1e-17 outside the bounds


def legacy_js(logits_reference: torch.Tensor, logits_model: torch.Tensor) -> float:
    """The reference's "JS": ½ KL(m‖p) + ½ KL(m‖q), each averaged over all N · C elements.

    p = softmax(M_r), q = softmax(M_u), m = (p + q)/2; KL_elem(m‖p) = (1/(N·C)) Σ m log(m/p),
    which is what the reference's ``F.kl_div(p.log(), m)`` returns with the "mean"
    reduction (written out here, since that reduction is deprecated). It is ``inf``
    where a softmax underflows to 0 (kept, for parity).
    """
    p = logits_reference.double().softmax(dim=1)
    q = logits_model.double().softmax(dim=1)
    m = (p + q) / 2

    def kl_elementwise_mean(target: torch.Tensor, prob: torch.Tensor) -> torch.Tensor:
        terms = target * (target.log() - prob.log())
        return torch.where(target > 0, terms, torch.zeros_like(terms)).mean()

    return float(0.5 * kl_elementwise_mean(m, p) + 0.5 * kl_elementwise_mean(m, q))


def activation_distances(logits_a: torch.Tensor, logits_b: torch.Tensor) -> torch.Tensor:
    """‖softmax(a_i) - softmax(b_i)‖₂ per sample."""
    diff = logits_a.double().softmax(dim=1) - logits_b.double().softmax(dim=1)
    return diff.norm(dim=1)


def agreement_percent(logits_a: torch.Tensor, logits_b: torch.Tensor) -> float:
    """100 · (1/N) Σ_i 1[argmax a_i = argmax b_i]."""
    return 100.0 * float((logits_a.argmax(dim=1) == logits_b.argmax(dim=1)).double().mean())


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Shannon entropy H(p_i) = -Σ_c p_ic ln p_ic per sample (0 · ln 0 = 0), in nats."""
    log_p = log_probabilities(logits)
    p = log_p.exp()
    return -torch.where(p > 0, p * log_p, torch.zeros_like(p)).sum(dim=1)
