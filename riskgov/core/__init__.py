"""core — what every app shares and nothing of any job.

Owns: the audit trail (`AuditRecord` and the `AuditAction` enum), shared model fields and the abstract
immutable-version model, bulk-write helpers, the display filters (`riskgov_format`), the read-only admin
base, the domain error shape and the API error handler, the task retry policy, sending tasks by name
(`dispatch`), the delivery outbox, bounded JSON input (`json_input`, `api.parsers`), the refusal of NUL
characters in URLs (`middleware`), and `/healthz` with beat's heartbeat (`selectors.health`, `services.heartbeat`).
May import: Django and third-party libraries only — no other app of the project.
"""
