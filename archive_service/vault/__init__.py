"""The vault: encrypted objects the archive keeps, and the keys that open them (密钥与存储)."""
