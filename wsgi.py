"""WSGI entry point: ``gunicorn wsgi:app``."""

from archive_service.app import create_app

app = create_app()
