"""Accounts: departments, users, roles, API tokens, login (账户与权限)."""
