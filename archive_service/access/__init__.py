"""Access: applications, approval chains, grants and the access register (查阅)."""
