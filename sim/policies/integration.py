"""An integrated county medical community (紧密型医共体): one account, shared diagnostics, unified procurement.

``policies.integration.level`` (none / loose / tight) says how far the in-county facilities (village clinics,
township centres, county hospitals) act as one organisation. Three mechanisms follow from it; none adds a
bonus to anyone's utility, each changes what a member can do or what it gains.

One account (一本账). A member weighs the community's result beside its own books with a weight w that follows
from how its pay and its leaders' jobs depend on that result (``sim.core.pay.community_weight``): the share of its
income tied to the community's result under the level's rules (``policies.integration.income_tie``) plus, under
tight integration, where the lead hospital appoints and assesses the members' directors (人财物统一管理),
``behaviour.provider.leader_tie_weight``. Under a global budget this w enters the community's margin weight k
(``sim.payment.community``), so a tight community rations harder than a loose one through its leaders' ties.
Under every payment model,
including fee-for-service where there is no budget, one account also means that a case referred to another
member keeps its margin in the community: a member referring a case up to a member counts as lost only

    margin here - w x (price level up / price level here) x max(margin here, 0)

(the case's margin at the next level, approximated by this facility's margin scaled by the price ratio), while
a referral out of the county loses the whole margin, as before. Members therefore refer up inside the county more
readily (the county hospital's prices are higher, so under fee-for-service the community gains by moving a case
up: integration without payment reform pulls patients up inside the community), and a county hospital's
referrals out of the county lose relatively more than internal ones. The member assumes the patient it refers
stays in the community; residents referred up still choose among the hospitals above. Without
integration (``none``) nothing changes: a global budget still forms a community, weighed by the income tie of
``none`` (no leaders are tied), and no referral keeps anything.

Shared diagnostics (shared lab, imaging and ECG centres; seeds 000, 001). A township centre whose tests and
images are read by the county hospitals' centres diagnoses like them: for a case whose need level does not
exceed the county hospitals' capability, the centre's capability is raised by ``diagnostic_capability_gain``
(up to the county's), for outcomes (the capability factor of ``sim.behaviour.outcomes``), for the provider's referral
and intensity decisions, and for the appropriate-level count. Cases needing more than the county can do are
not helped. An ECG read at once by the county's ECG centre lets the township recognise acute chest pain within
``ecg_identification_minutes``, which shortens the time to treatment of chest pain. Residents are not told:
their perceived capability is the level's (``sim.behaviour.care_seeking``) and their trust follows outcomes
(``sim.behaviour.learning``).

Unified procurement. The community buys drugs and consumables for its primary facilities, which then get the
whole of ``policies.procurement``'s cuts (``sim.policies.procurement``).

Staff hired by the county and sent to township centres are ``policies.sinking``'s and are not modelled here.
"""

from __future__ import annotations

import numpy as np

from sim.behaviour.margin import MarginAdjustment
from sim.core.levels import COUNTY, IN_COUNTY, N_LEVELS, TOWNSHIP
from sim.core.pay import community_weight
from sim.params.scenario import Scenario
from sim.policies.base import Policy

CHEST_PAIN = "chest_pain"  # the catalogue condition whose recognition an ECG decides


def integrated(spec: Scenario) -> bool:
    return spec.policies.integration.level != "none"


def unified_procurement(spec: Scenario) -> bool:
    """Whether an integrated community buys drugs and consumables for its village clinics and township centres."""
    return integrated(spec) and spec.policies.integration.unified_procurement


class CommunityIntegration(Policy):
    """The integration in force: what it changes in capability, recognition and referral, per case."""

    name = "integration"

    def configure(self, before) -> None:
        spec, catalogue, facilities, level_price = (self.model.spec, self.model.cat, self.model.facilities,
                                                    self.model.level_price)
        self.policy = spec.policies.integration
        self.on = integrated(spec)
        self.diagnostics = self.on and self.policy.shared_diagnostics
        self.facilities = facilities
        self.chest_pain = catalogue.names.index(CHEST_PAIN) if CHEST_PAIN in catalogue.names else -1
        # Weight of a referred case's bill at the next level up, kept in the community: w x member x price ratio.
        up = np.minimum(np.arange(N_LEVELS) + 1, N_LEVELS - 1)
        member_up = np.isin(up, IN_COUNTY) & (np.arange(N_LEVELS) < up)
        self.credit_by_level = (community_weight(np.arange(N_LEVELS), spec) * member_up
                                * level_price[up] / level_price)

    def capability(self, fac: np.ndarray, need: np.ndarray, capability: np.ndarray) -> np.ndarray:
        """Capability of each case's facility for that case (its own unless shared diagnostics raise it)."""
        fac_t = self.facilities
        own = capability
        if not self.diagnostics:
            return own
        hub = fac_t.capability[fac_t.level == COUNTY].max(initial=0.0)
        raised = np.minimum(own + self.policy.diagnostic_capability_gain, np.maximum(hub, own))
        return np.where((fac_t.level[fac] == TOWNSHIP) & (need <= hub), raised, own)

    def identification_minutes(self, fac: np.ndarray, condition: np.ndarray, minutes: np.ndarray) -> np.ndarray:
        """Minutes each facility needs to recognise each time-critical case."""
        own = minutes
        if not self.diagnostics or self.chest_pain < 0:
            return own
        read = (self.facilities.level[fac] == TOWNSHIP) & (condition == self.chest_pain)
        return np.where(read, np.minimum(own, self.policy.ecg_identification_minutes), own)

    def margin_adjustment(self, fac: np.ndarray, level: np.ndarray, adjustment):
        """One account, as the provider's margin sees it (``sim.behaviour.margin``): the share of a case's
        (positive) margin that referring it up keeps in the community, added to ``adjustment``; as given without
        integration."""
        if not self.on:
            return adjustment
        return MarginAdjustment.combine(adjustment, MarginAdjustment(referral_margin_share=self.credit_by_level[level]))
