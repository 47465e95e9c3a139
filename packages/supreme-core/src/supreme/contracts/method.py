"""Unlearning methods: the :class:`UnlearningMethod` contract."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar, Final, Literal

from supreme.contracts.base import C, Component
from supreme.contracts.search import Search

if TYPE_CHECKING:
    from lightning.fabric import Fabric
    from torch import nn

    from supreme.contracts.unlearn_data import UnlearnData


#: The row of the original model M_o, unchanged (no unlearning).
ORIGINAL: Final = "original"
#: The row of the reference model M_r, retrained from scratch on D_r.
RETRAIN: Final = "retrain"
#: The reference rows the pipeline produces itself, as ``UnlearningMethod.reference`` names them.
Reference = Literal["original", "retrain"]


class UnlearningMethod(Component[C]):
    """Turns a copy of the original model M_o into an unlearned model M_u.

    ``unlearn`` receives a deep copy of M_o (already on the Fabric device, in train
    mode), the forget/retain data and the Fabric object; it returns the unlearned module
    (it may modify and return ``model`` itself). It must not modify ``data.original``.
    All randomness comes from ``data.generator`` so that a run is reproducible and every
    rank draws the same numbers.
    """

    #: Scenarios the method supports (``fullclass``, ``subclass``, ``random``).
    scenarios: ClassVar[frozenset[str]] = frozenset({"fullclass", "subclass", "random"})
    #: Reference rows (:data:`ORIGINAL`, :data:`RETRAIN`) are produced by the pipeline itself.
    reference: ClassVar[Reference | None] = None
    #: What ``supreme tune`` searches: config field -> :class:`~supreme.contracts.Search`
    #: (empty: the method is not tunable unless the experiment's ``[tune.space]`` names
    #: fields). Every drawn value must be valid for the field; tune checks it.
    search_space: ClassVar[Mapping[str, Search]] = {}

    @abstractmethod
    def unlearn(self, model: nn.Module, data: UnlearnData, fabric: Fabric) -> nn.Module:
        """Return the unlearned model."""
