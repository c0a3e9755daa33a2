"""Recurring reviews (定期检查): the duties the rules set on a calendar."""
