"""generation_audit's models: provenance runs and findings; possible AI imitations of artists;
licensed AI services, their ledger, generated outputs and training manifests."""

from generation_audit.models.imitation import ImitationReport
from generation_audit.models.provenance import Finding, ProvenanceRun
from generation_audit.models.services import (
    AIService,
    GeneratedOutput,
    LedgerEntry,
    OutputAttribution,
    ServiceCall,
    TrainingManifest,
    TrainingManifestEntry,
)

__all__ = [
    "AIService",
    "Finding",
    "GeneratedOutput",
    "ImitationReport",
    "LedgerEntry",
    "OutputAttribution",
    "ProvenanceRun",
    "ServiceCall",
    "TrainingManifest",
    "TrainingManifestEntry",
]
