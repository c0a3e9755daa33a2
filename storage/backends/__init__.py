"""Object store backends: a local folder (embedded mode) and S3/MinIO."""

from storage.backends.base import ObjectStore, new_object_name, validate_name
from storage.backends.local import LocalStore
from storage.backends.s3 import S3Config, S3Store

__all__ = ["LocalStore", "ObjectStore", "S3Config", "S3Store", "new_object_name", "validate_name"]
