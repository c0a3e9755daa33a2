"""Backup and restore (备份与恢复): snapshots to a second location, their check, the
restore onto an empty instance, and the destruction journal that keeps a restore from
bringing a destroyed document back. The target's layout: ``backup/target.py``."""
