"""Negative gradient (NegGrad): gradient *ascent* on the forget set.

Minimises −CE on D_f, pushing the model away from its own predictions on the data to
forget. Baseline from Golatkar et al., "Eternal Sunshine of the Spotless Net"
(CVPR 2020) and Thudi et al., "Unrolling SGD" (EuroS&P 2022). Reference code: SUPREME
``methods/baselines/neg_grad.py`` (``fit_one_learning_cycle`` with ``neggrad=True``).

Differences from the reference: it is registered (the reference implemented it but left
it out of its method list, §9-23), and there is no per-epoch evaluation inside the timed
region (§9-28). NegGrad is unbounded: more epochs or a larger lr eventually destroy the
retain accuracy too.
"""

from __future__ import annotations

from supreme.contracts.search import Search

from supreme_methods.finetune import SGDEpochs


class NegGrad(SGDEpochs):
    """NegGrad: a few epochs of gradient ascent (−CE) on the forget set."""

    name = "neg_grad"
    #: supreme tune's search space: the rate and the epochs, as Kurmanji et al. (SCRUB, NeurIPS
    #: 2023) tune NegGrad.
    search_space = {"lr": Search(1e-5, 1e-1, log=True), "epochs": Search(1, 10)}
    part = "forget"
