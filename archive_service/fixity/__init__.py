"""Fixity (固定性检查): every stored object decrypted and held against its recorded digest,
at a bounded rate, the whole archive once per period; failures shown to auditors and
archivists, repaired from the backup's good copy where one exists; orphans cleaned."""
