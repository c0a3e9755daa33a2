"""Intake checks (四性检测, DA/T 70-2018): authenticity, integrity, usability and security of
each document version, when it is submitted and again when it is accepted."""
