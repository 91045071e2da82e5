"""The payment models by the name a scenario gives them (``payment.model``, ``payment.by_level``): one line each.

The schema lists the names it accepts (``sim.params.scenario.PAYMENT_MODELS``; the parameters are the layer below
and cannot import this one), so a model is added by writing its module, registering it here and naming it there;
this module refuses to load while the two lists differ.
"""

from __future__ import annotations

from sim.params.scenario import BUDGET_MODELS, PAYMENT_MODELS
from sim.payment.capitation import Capitation
from sim.payment.dip import DiagnosisInterventionPacket
from sim.payment.drg import DiagnosisRelatedGroups
from sim.payment.fee_for_service import FeeForService
from sim.payment.global_budget import GlobalBudget
from sim.payment.interface import PaymentModel
from sim.payment.per_diem import PerDiem

REGISTRY: dict[str, type[PaymentModel]] = {cls.name: cls for cls in (
    FeeForService,
    DiagnosisRelatedGroups,
    DiagnosisInterventionPacket,
    Capitation,
    PerDiem,
    GlobalBudget,
)}


def check(registry: dict[str, type[PaymentModel]]) -> None:
    """The registry and the schema's names agree, and so do the budget models (purses around claims)."""
    if set(registry) != set(PAYMENT_MODELS):
        raise ImportError(f"sim.payment.registry registers {sorted(registry)} but the schema "
                          f"(sim.params.scenario.PAYMENT_MODELS) names {sorted(PAYMENT_MODELS)}: register each "
                          "model's class here and name it there")
    purses = {name for name, cls in registry.items() if cls.wraps_claims}
    if purses != set(BUDGET_MODELS):
        raise ImportError(f"sim.payment.registry: the purse models {sorted(purses)} differ from the schema's "
                          f"BUDGET_MODELS {sorted(BUDGET_MODELS)}")


check(REGISTRY)
