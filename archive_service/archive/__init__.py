"""The archive: customers, documents, versions, numbering, retention, holds (客户档案)."""
