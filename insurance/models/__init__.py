from insurance.models.coverage import (
    ACTIVE_STATUSES,
    MAX_PATH_STEPS,
    MAX_PATHS,
    MAX_STEPS,
    ChunkStatus,
    CoverageChunk,
    CoverageRun,
    ImpactKind,
    ParameterSet,
    PriceModelKind,
    RunPurpose,
    RunStatus,
)
from insurance.models.funds import OUTFLOW_KINDS, EntryKind, FundLedgerEntry, InsuranceFund, signed_effect
from insurance.models.risk_attestation import AttestationStatus, RiskAttestation
from insurance.models.scenarios import MAX_REPLAY_DAYS, MAX_SCALE, Scenario, ScenarioKind

__all__ = [
    "ACTIVE_STATUSES",
    "MAX_PATHS",
    "MAX_PATH_STEPS",
    "MAX_REPLAY_DAYS",
    "MAX_SCALE",
    "MAX_STEPS",
    "OUTFLOW_KINDS",
    "AttestationStatus",
    "ChunkStatus",
    "CoverageChunk",
    "CoverageRun",
    "EntryKind",
    "FundLedgerEntry",
    "ImpactKind",
    "InsuranceFund",
    "ParameterSet",
    "PriceModelKind",
    "RiskAttestation",
    "RunPurpose",
    "RunStatus",
    "Scenario",
    "ScenarioKind",
    "signed_effect",
]
