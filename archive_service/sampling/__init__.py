"""The half-yearly special audit (专项审计抽查): a reproducible random sample of customer
archives, a checklist per sampled archive, findings and the kept report."""
