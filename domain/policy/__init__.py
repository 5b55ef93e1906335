"""Policy: gateway keys, what each may use, its limits and budget (README, "Keys, limits and
budgets"). Pure: the counters live behind ``ports.PolicyState``."""

from domain.policy.gate import Grant, Policy
from domain.policy.keys import Budget, GatewayKey, KeyTable, Limits, digest
from domain.policy.ports import Admission, KeyUsage, PolicyState, Settlement, TokenAdmission

__all__ = [
    "Admission", "Budget", "GatewayKey", "Grant", "KeyTable", "KeyUsage", "Limits", "Policy", "PolicyState",
    "Settlement", "TokenAdmission", "digest",
]
