"""Loss-Free SSD (LFSSD): SSD with label-free importances, |∂‖f(x)‖²/∂θ|.

Like SSD, but the importance of a weight is the absolute gradient of the squared L2 norm
of the logits (no labels, no loss), in the spirit of Memory-Aware Synapses. Foster et al.,
"Loss-Free Machine Unlearning" (ICLR 2024 Tiny Papers). Reference code: SUPREME
``methods/state_of_the_art/lfssd.py``.

α and λ follow the reference's LFSSD table (``by_context``: α 5 for full-class CIFAR-20,
3.5 for random samples, else 10; λ 1). Differences from the reference: those of
:mod:`supreme_methods.ssd` (cached O, shared implementation).
"""

from __future__ import annotations

from supreme.contracts.search import Search

from supreme_methods._synaptic import LFSSD_TABLE, DampeningConfig, DampeningRule, SynapticDampening


class LFSSD(SynapticDampening):
    """LFSSD: SSD with loss-free importances (gradient of the squared logit norm)."""

    name = "lfssd"
    #: supreme tune's search space: as SSD: the selection α and the dampening λ.
    search_space = {"alpha": Search(0.1, 100.0, log=True), "dampening": Search(0.01, 10.0, log=True)}
    scenarios = frozenset({"fullclass", "subclass", "random"})
    criterion = "l2"
    per_sample = False

    class Config(DampeningConfig):
        by_context: tuple[DampeningRule, ...] = LFSSD_TABLE
