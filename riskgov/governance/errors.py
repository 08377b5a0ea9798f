"""Domain errors of governance; each carries a machine code, a field (when one is to blame) and a status."""

from __future__ import annotations

from riskgov.core.errors import DomainError


class GovernanceError(DomainError):
    """A governance action was refused; `message` is meant for the user. Raised as ``Error(code, message)``."""

    def __init__(self, code: str, message: str, *, field: str | None = None, status: int | None = None) -> None:
        super().__init__(message, code=code, field=field, status=status)


class ProposalRejected(GovernanceError):
    """Proposal creation failed; `errors` maps form fields to messages (the first one is the answer's field)."""

    def __init__(self, errors: dict[str, list[str]], *, code: str = "invalid_proposal") -> None:
        self.errors = errors
        first_field, messages = next(iter(errors.items()))
        super().__init__(code, messages[0], field=first_field)


class VoteRejected(GovernanceError):
    """A ballot was not accepted (a repeated vote has status 409)."""


class ActionNotAllowed(GovernanceError):
    """Cancel, queue, veto or execute is not allowed for this caller or in this state."""

    status = 409


class ChainNotConfigured(GovernanceError):
    """No chain deployment is recorded, so there is no ballot domain or voting power source."""

    status = 503
