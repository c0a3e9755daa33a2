"""The directory (LDAP / Active Directory, 目录服务) as the source of staff accounts: sign-in
by binding as the person, roles and department mapped from groups and attributes, the
leaver sync, and sign-in through a trusted SSO gateway's header."""
