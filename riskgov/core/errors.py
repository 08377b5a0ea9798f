"""The one shape of a refused request: a machine-readable code, a sentence for people, the field at fault."""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses. Subclasses set `status` (HTTP) and pass a stable `code`.

    `field` names the input at fault (None when the request as a whole is refused); `message` is shown to
    people as it is. `status` given here overrides the class's status for this one refusal.
    """

    status: int = 400
    default_code: str = "invalid"

    def __init__(
        self, message: str, *, code: str | None = None, field: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        return self.message


def error_body(*, code: str, message: str, field: str | None = None) -> dict[str, dict[str, str | None]]:
    """``{"error": {"code", "message", "field"}}``, the body of every 4xx answer of every API."""
    return {"error": {"code": code, "message": message, "field": field}}
