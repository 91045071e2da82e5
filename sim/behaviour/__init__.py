"""Agents' decisions: residents' choice of care, the provider's decisions, the outcome model both
use, and what residents learn of trust, prices and capability."""
