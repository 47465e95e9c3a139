"""The ``supreme`` entry point of supreme-methods: registers every unlearning method.

Imported by ``supreme list`` and ``supreme --help``, so neither this module nor the
method modules import torch at module level.
"""

from __future__ import annotations

from supreme.contracts import UnlearningMethod
from supreme.hookspecs import hookimpl

from supreme_methods.assd import ASSD
from supreme_methods.bad_teacher import BadTeacher
from supreme_methods.cf_k import CFK
from supreme_methods.eu_k import EUK
from supreme_methods.finetune import FineTune
from supreme_methods.fisher import Fisher
from supreme_methods.jit import JiT
from supreme_methods.l1_sparse import L1Sparse
from supreme_methods.lfssd import LFSSD
from supreme_methods.lfssd_det import LFSSDDet
from supreme_methods.neg_grad import NegGrad
from supreme_methods.neg_grad_plus import NegGradPlus
from supreme_methods.random_labeling import RandomLabeling
from supreme_methods.salun import SalUn
from supreme_methods.scrub import SCRUB
from supreme_methods.ssd import SSD
from supreme_methods.ssd_det import SSDDet
from supreme_methods.unsir import UNSIR

METHODS: list[type[UnlearningMethod]] = [
    FineTune,
    NegGrad,
    RandomLabeling,
    BadTeacher,
    UNSIR,
    SCRUB,
    JiT,
    SSD,
    LFSSD,
    SSDDet,
    LFSSDDet,
    ASSD,
    SalUn,
    L1Sparse,
    NegGradPlus,
    CFK,
    EUK,
    Fisher,
]


@hookimpl
def supreme_register_methods() -> list[type[UnlearningMethod]]:
    return list(METHODS)
