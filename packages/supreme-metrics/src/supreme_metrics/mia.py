r"""Membership-inference attack (MIA) on the forget set, with the reference's entropy attack.

Feature: the Shannon entropy of the evaluated model's softmax output,
H(x) = -Σ_c p_c ln p_c (0 · ln 0 = 0), one scalar per sample. Classifier: scikit-learn
``LogisticRegression(class_weight="balanced", solver="lbfgs", C=1, max_iter=100)`` on the
raw entropies (no scaling, no held-out split), fitted on::

    X = [H(D_r); H(D')],   y = [1 … 1; 0 … 0]     (members: retain-train, non-members: test)

and applied to D_f::

    forget_train = (1/|D_f|) · Σ_{x ∈ D_f} 1[attack(H(x)) = member]    (fraction in [0, 1])

A second key, ``fit_balanced_accuracy``, is the attack's balanced accuracy on its own
training data: 0.5 means entropy does not separate members from non-members for this
model, so ``forget_train`` carries no information. A good unlearning result has
``forget_train`` close to the retrain row's. The splits and the classifier's C and
iteration budget are configurable; the defaults are the reference's.

Differences from the reference:

* The reference collects softmax outputs with batch size 1 (one pass per sample); here
  the entropies come from the shared cached forward passes (§9-27).
* ``multi_class="multinomial"`` is not passed (removed from scikit-learn; for two classes
  the model is the same binary logistic regression).
* Under several processes the features are gathered with the sampler's padding dropped,
  so no sample counts twice; ``fit_balanced_accuracy`` is new.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from supreme.contracts import ComponentConfig, Metric
from supreme.contracts.types import PositiveScale, Steps

if TYPE_CHECKING:
    import numpy as np
    from supreme.contracts import EvalContext

SplitName = Literal["test", "retain_test", "forget_test", "retain_train", "forget_train"]


class MIA(Metric):
    """Entropy MIA: share of D_f a balanced logistic regression (fit D_r vs D') calls member."""

    name = "mia"
    needs = frozenset()

    class Config(ComponentConfig):
        members: SplitName = "retain_train"
        non_members: SplitName = "test"
        target: SplitName = "forget_train"
        #: Inverse L2 regularisation strength of the logistic regression.
        C: PositiveScale = 1.0
        max_iter: Steps = 100

    config: Config

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        from supreme_metrics._math import entropy

        cfg = self.config
        used = (cfg.members, cfg.non_members, cfg.target)
        if any(s not in ctx.splits or len(ctx.splits[s]) == 0 for s in used):
            return {}
        feats = [entropy(ctx.outputs("unlearned", s).logits).numpy() for s in used]
        rate, fit = entropy_attack(*feats, C=cfg.C, max_iter=cfg.max_iter)
        return {cfg.target: rate, "fit_balanced_accuracy": fit}


def entropy_attack(
    members: np.ndarray, non_members: np.ndarray, target: np.ndarray,
    *, C: float = 1.0, max_iter: int = 100,
) -> tuple[float, float]:
    """Fit the attack; return (share of ``target`` called member, balanced accuracy on the fit)."""
    import warnings

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score

    x = np.concatenate([members, non_members]).reshape(-1, 1)
    y = np.concatenate([np.ones(len(members)), np.zeros(len(non_members))])
    attack = LogisticRegression(class_weight="balanced", solver="lbfgs", C=C, max_iter=max_iter)
    with warnings.catch_warnings():
        # the reference runs with the same budget and ignores non-convergence too
        warnings.simplefilter("ignore", ConvergenceWarning)
        attack.fit(x, y)
    fit = balanced_accuracy_score(y, attack.predict(x))
    rate = attack.predict(np.asarray(target).reshape(-1, 1)).mean()
    return float(rate), float(fit)
