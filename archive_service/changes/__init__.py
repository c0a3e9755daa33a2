"""Change requests for archived customers and documents (变更申请)."""
