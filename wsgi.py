"""WSGI entry point: ``gunicorn wsgi:app``."""

from archive_service.app import create_app
from archive_service.config import Settings
from archive_service.serving import confine_temp_files

settings = Settings.from_env()
confine_temp_files(settings)  # the worker's temporary files stay in ARCHIVE_TEMP_DIR
app = create_app(settings)
