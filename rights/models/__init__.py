"""The rights engine's tables: parties, ownership, policies, claims, licences, splits, usage, royalties, audit.

One module per area; everything is importable from `rights.models`.
"""

from __future__ import annotations

from rights.models.access import AuditCheck, AuditorGrant
from rights.models.audit import AuditChainHead, AuditEvent
from rights.models.claims import Claim, ClaimEvent, ClaimQuerySet, Dispute, ReferenceOverlap, UnclaimedMatch
from rights.models.licences import Licence
from rights.models.ownership import Ownership, OwnershipConflict
from rights.models.parties import RightsHolder
from rights.models.policies import Policy, PolicyRule
from rights.models.royalties import (
    RoyaltyRun,
    Split,
    SplitShare,
    Statement,
    StatementLine,
    UsageLine,
    UsageReport,
)

__all__ = [
    "AuditChainHead",
    "AuditCheck",
    "AuditEvent",
    "AuditorGrant",
    "Claim",
    "ClaimEvent",
    "ClaimQuerySet",
    "Dispute",
    "Licence",
    "Ownership",
    "OwnershipConflict",
    "Policy",
    "PolicyRule",
    "ReferenceOverlap",
    "RightsHolder",
    "RoyaltyRun",
    "Split",
    "SplitShare",
    "Statement",
    "StatementLine",
    "UnclaimedMatch",
    "UsageLine",
    "UsageReport",
]
