"""Transfers (移交): documents leaving for another archive in a self-describing package."""
