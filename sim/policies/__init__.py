"""Policies that reshape the system: referral rules, family-doctor contracts, emergency units,
assessment, resource sinking and the siphon, procurement, integration of the medical community."""
