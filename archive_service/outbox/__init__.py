"""The job outbox: jobs written in the transaction that needs them, relayed to the broker
after commit, and swept again until sent (``docs/architecture.md``)."""
