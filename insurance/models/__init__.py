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
    RunStatus,
)
from insurance.models.funds import OUTFLOW_KINDS, EntryKind, FundLedgerEntry, InsuranceFund, signed_effect

__all__ = [
    "ACTIVE_STATUSES",
    "MAX_PATHS",
    "MAX_PATH_STEPS",
    "MAX_STEPS",
    "OUTFLOW_KINDS",
    "ChunkStatus",
    "CoverageChunk",
    "CoverageRun",
    "EntryKind",
    "FundLedgerEntry",
    "ImpactKind",
    "InsuranceFund",
    "ParameterSet",
    "PriceModelKind",
    "RunStatus",
    "signed_effect",
]
