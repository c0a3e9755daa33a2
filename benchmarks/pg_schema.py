"""A PostgreSQL schema of a benchmark's own, in the local server's ``test`` database, so a
run never touches another's tables and leaves nothing behind."""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, text

PG = "postgresql+psycopg://root@127.0.0.1:5432/test"


def create() -> tuple[str, str]:
    """A new empty schema: its name, and a database URL whose search path is that schema."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return schema, f"{PG}?options=-csearch_path%3D{schema}"


def drop(schema: str) -> None:
    """Drop the schema and everything in it."""
    admin = create_engine(PG)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()
