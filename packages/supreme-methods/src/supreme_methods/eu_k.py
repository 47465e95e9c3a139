"""EU-k (exact unlearning of the last k layers): re-initialise the last k layers, retrain them on D_r.

The last k layers get the parameters and buffers of a freshly built network of the same
architecture (``data.new_model()``, seeded from the method's generator: the state M_o's
training started from, so pre-trained weights for a pre-trained model and a random
initialisation otherwise) and are trained on the retain set while every other layer stays
frozen (parameters and BatchNorm statistics). If the frozen layers carried no
information about D_f this would be exact unlearning of the last k layers. Goel et al.,
"Towards Adversarial Evaluations for Inexact Machine Unlearning", arXiv 2201.06640 (2022).
Authors' code: ``shash42/Evaluating-Inexact-Unlearning``; the re-implementation in
``meghdadk/SCRUB`` (re-initialise ``layer4`` of the ResNet from M_o's initial checkpoint
and retrain it for M_o's number of epochs) was the one studied.

"The last k layers" is defined in :mod:`supreme_methods._layers` (see ``cf_k``): on the
CIFAR ResNet18 the default k = 3 is the last stage's two residual blocks and the
classifier. The retraining runs for M_o's recipe epochs by default (``epochs = None``),
with SGD (lr 0.01, momentum 0.9, weight decay 5e-4, constant lr).

Differences from the reference: the SCRUB re-implementation re-initialised the blocks of
``layer4`` but kept the classifier of M_o and trained with plain SGD (no momentum, lr
×0.1 after epochs 10, 15 and 20) and an ℓ2 pull towards M_o in eval mode; here the
classifier is one of the k layers, the lr is constant and the re-initialised layers run
in train mode. The fresh weights come from ``new_model()`` with a seed drawn from the
method's generator, not from M_o's own initial checkpoint, which SUPREME does not keep.
"""

from __future__ import annotations

from pydantic import Field
from supreme.contracts.search import Search
from supreme.contracts.types import Epochs

from supreme_methods.cf_k import LastLayers


class EUK(LastLayers):
    """EU-k: re-initialise the last k layers and retrain them on the retain set, rest frozen."""

    name = "eu_k"
    #: supreme tune's search space: Goel et al.: the number k of re-initialised last layers and the
    #: rate.
    search_space = {"k": Search(1, 5), "lr": Search(1e-3, 1e-1, log=True)}
    reinitialise = True

    class Config(LastLayers.Config):
        epochs: Epochs | None = Field(None, description="passes over D_r; None: M_o's recipe epochs")

    config: Config
