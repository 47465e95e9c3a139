"""SUPREME's vision components: the reference datasets and models.

Datasets live in :mod:`supreme_vision.datasets`, models in :mod:`supreme_vision.models`;
:mod:`supreme_vision.plugin` registers them with SUPREME. Importing this package does not
import torch (``supreme list`` stays fast).
"""

__version__ = "0.1.2"
