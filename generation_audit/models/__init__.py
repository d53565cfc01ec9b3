"""generation_audit's models: provenance runs and findings; licensed AI services, their ledger,
generated outputs and training manifests."""

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
    "LedgerEntry",
    "OutputAttribution",
    "ProvenanceRun",
    "ServiceCall",
    "TrainingManifest",
    "TrainingManifestEntry",
]
