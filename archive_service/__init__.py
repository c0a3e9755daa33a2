"""Customer document archive service (客户档案管理服务)."""

__version__ = "0.1.0"
