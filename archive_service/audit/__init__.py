"""The audit trail: append-only, hash-chained events (审计日志)."""
