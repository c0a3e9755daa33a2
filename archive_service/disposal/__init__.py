"""Retention review and logged destruction (清理与销毁)."""
