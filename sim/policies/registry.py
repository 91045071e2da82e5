"""The policies the engine runs, in the order their hooks are called: a policy is one module and one line here.

Order matters where hooks fold over one value: integration's shared diagnostics shorten a township centre's
identification minutes before an emergency unit's protocol takes the shorter of its own and that.
"""

from __future__ import annotations

from sim.policies.assessment import PerformanceAssessment
from sim.policies.emergency import EmergencyUnits
from sim.policies.family_doctor import FamilyDoctors
from sim.policies.integration import CommunityIntegration
from sim.policies.procurement import Procurement
from sim.policies.referral import ReferralRules
from sim.policies.staffing import Staffing

REGISTRY = (
    Staffing,               # resource sinking (policies.sinking) and the staff siphon
    CommunityIntegration,   # policies.integration
    Procurement,            # policies.procurement
    FamilyDoctors,          # policies.family_doctor
    EmergencyUnits,         # policies.emergency_units
    ReferralRules,          # policies.referral
    PerformanceAssessment,  # policies.assessment
)
