"""Settings from ``ARCHIVE_*`` environment variables, with embedded defaults.

The embedded default needs nothing but a folder: SQLite, a local encrypted
store, an embedded Celery broker, all inside the instance folder. Production
sets the URLs of PostgreSQL, Redis and S3 instead. Settings are plain data so
tests can build them directly.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

PREFIX = "ARCHIVE_"
# Settings named after a vocabulary's codes: the field, and the variables that fill it.
# A class's code (DA/T 13: ``Y``, ``D30``) and its authority (the rule it comes from) are text.
KEYED: dict[str, tuple[re.Pattern[str], type]] = {
    "retention_years": (re.compile(r"^ARCHIVE_RETENTION_([A-Z0-9_]+)_YEARS$"), int),
    "retention_codes": (re.compile(r"^ARCHIVE_RETENTION_([A-Z0-9_]+)_CODE$"), str),
    "retention_authorities": (re.compile(r"^ARCHIVE_RETENTION_([A-Z0-9_]+)_AUTHORITY$"), str),
    "tier_minimum_years": (re.compile(r"^ARCHIVE_TIER_MINIMUM_([A-Z0-9_]+)$"), int),
    # Working days a pending approval step waits before its approver is reminded, and before
    # the next person up is told, per chain (access, change, destruction, transfer, role).
    "remind_days": (re.compile(r"^ARCHIVE_REMIND_([A-Z]+)_DAYS$"), int),
    "escalate_days": (re.compile(r"^ARCHIVE_ESCALATE_([A-Z]+)_DAYS$"), int),
}


def _as_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    instance_dir: Path = Path("instance")
    database_url: str = ""
    broker_url: str = ""
    result_backend: str = ""
    secret_key: str = ""
    admin_password: str = ""
    storage: str = "local"
    storage_dir: str = ""
    s3_endpoint: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "archive"
    s3_secure: bool = True
    keyring_file: str = ""
    search_index_dir: str = ""
    # The secret that keys the index's terms (docs/search.md): never inside the index folder.
    search_key: str = ""  # hex, at least 64 digits (32 bytes), or:
    search_key_file: str = ""  # production: a mounted file holding it
    # Several web machines (docs/search.md): the indexer publishes each write to a shared
    # place (a folder or s3://bucket/prefix on the S3 endpoint and keys above); a web machine
    # syncs its own copy in search_index_dir from there, asking at most every
    # search_sync_seconds and holding a search at most search_sync_wait_ms for it. Its
    # health check degrades when the copy was not confirmed for search_replica_stale_seconds.
    search_publish_to: str = ""
    search_replica_from: str = ""
    search_sync_seconds: int = 5
    search_sync_wait_ms: int = 1000
    search_replica_stale_seconds: int = 300
    extract_timeout_seconds: int = 60  # text extraction of one file, in a limited child process
    extract_memory_mb: int = 1024
    # 四性检测: the structural examination of one file (pikepdf, pyHanko, oletools) in a child
    check_timeout_seconds: int = 60
    check_memory_mb: int = 1024
    # OCR of images and text-less PDF pages (docs/search.md): pages past the limit are not read.
    ocr_max_pages: int = 50
    ocr_page_seconds: int = 20
    ocr_memory_mb: int = 2048  # address space of a child that OCRs (images, PDFs)
    viewing_session_minutes: int = 120  # a supervised session lasts at most this long
    render_timeout_seconds: int = 120  # converting an office document for viewing
    operations_department: str = "OPS"
    default_locale: str = "zh"
    # Secure cookies everywhere but the embedded default (plain http on localhost).
    secure_cookies: bool | None = None
    password_min_length: int = 12
    # argon2id cost (argon2-cffi's recommended defaults); tests make it cheap.
    password_hash_time_cost: int = 3
    password_hash_memory_kib: int = 65536
    password_hash_parallelism: int = 4
    # Sign-in throttling, per account and source address (accounts/rules.ThrottlePolicy):
    # the failure that starts the delays, the first delay (doubling), the longest, and how
    # long after its last failure a series is forgotten.
    lockout_threshold: int = 5
    lockout_first_delay_seconds: int = 30
    lockout_minutes: int = 15
    lockout_window_minutes: int = 15
    token_ttl_hours: int = 12
    session_hours: int = 8  # a web session ends this long after sign-in, whatever happens
    session_idle_minutes: int = 30  # ... or this long after its last request
    # The directory (LDAP / Active Directory, docs/accounts.md): empty ldap_url, none.
    # ldaps://host:636, or ldap://host:389 upgraded with StartTLS; the server's certificate
    # is always checked (against ldap_ca_file, else the system's roots).
    ldap_url: str = ""
    ldap_ca_file: str = ""
    ldap_bind_dn: str = ""  # the service account that searches (sync, SSO, finding people)
    ldap_bind_password: str = ""  # or:
    ldap_bind_password_file: str = ""  # production: a mounted file holding it
    ldap_user_base: str = ""
    ldap_user_filter: str = "(&(objectClass=inetOrgPerson)(uid={username}))"
    ldap_username_attribute: str = "uid"  # AD: sAMAccountName
    ldap_disabled_filter: str = ""  # AD: (userAccountControl:1.2.840.113556.1.4.803:=2)
    ldap_group_roles: str = ""  # "group-dn=role;..." or JSON {"group-dn": "role" | [roles]}
    ldap_department_attribute: str = "departmentNumber"  # "ou": the entry's first OU
    ldap_departments: str = ""  # "value=CODE;..." or JSON; empty: the value is the code
    ldap_name_attribute: str = "displayName"
    ldap_email_attribute: str = "mail"
    ldap_timeout_seconds: int = 5
    ldap_sync_minutes: int = 15  # the beat's leaver sync (0: only by hand)
    ldap_sync_max_close: int = 25  # a sync that would close more changes nothing (0: no limit)
    # SSO behind a gateway: the header naming the signed-in user, honoured only from these
    # proxy addresses (CIDRs, comma-separated).
    sso_header: str = ""
    sso_trusted_proxies: str = ""
    celery_always_eager: bool = False
    # Storage and keys
    keyring: str = ""  # production: the keyring JSON itself (or use keyring_file)
    segment_size: int = 1024 * 1024
    max_upload_mb: int = 512
    # The embedded web server (archive_service/serving.py): connections at once, and how
    # long one may send nothing before it is closed.
    web_connection_limit: int = 100
    web_channel_timeout_seconds: int = 60
    # Numbering and retention (the rules' "[X] years" are settings)
    number_pattern: str = "{category}{customer:3}{year}{seq:2}"
    fonds: str = "Q001"
    # The organisation keeping the archive (立档单位名称): the sender of transfer packages.
    organisation: str = ""
    # ARCHIVE_RETENTION_<CLASS>_YEARS and ARCHIVE_TIER_MINIMUM_<TIER>, for any class or tier
    # of the vocabularies (archive_service/archive/vocabulary.py): {"long": 25, ...}
    retention_years: dict[str, int] = field(default_factory=dict)
    # ARCHIVE_RETENTION_<CLASS>_CODE (its code in archive numbers and exports, e.g. "D5" for
    # the company's own 5-year class) and ARCHIVE_RETENTION_<CLASS>_AUTHORITY (the rule or
    # regulation the class comes from, shown as written).
    retention_codes: dict[str, str] = field(default_factory=dict)
    retention_authorities: dict[str, str] = field(default_factory=dict)
    tier_minimum_years: dict[str, int] = field(default_factory=dict)
    hold_release_years: int = 5
    joint_review_tiers: str = "core"
    # Review and destruction
    signing_key: str = ""  # Ed25519 private key (PEM) that signs destruction records, or:
    signing_key_file: str = ""  # production: a mounted file holding it
    temp_dir: str = ""  # where plaintext may briefly touch disk (a tmpfs in production)
    # Destruction records (销毁清册) are kept permanently unless this is set (> 0): then a
    # record gets a keep date this many years on, and the beat purges it after that date.
    destruction_record_years: int = 0
    review_hour: int = 1  # the daily retention review runs at this hour (UTC)
    destruction_pace_ms: int = 0  # pause between destroyed items, to spare a shared store
    destruction_stall_minutes: int = 15  # an executing run without progress this long resumes
    # The audit trail's anchor (docs/audit.md): signed checkpoints outside the database.
    audit_key: str = ""  # Ed25519 private key (PEM) that signs checkpoints, or:
    audit_key_file: str = ""  # production: a mounted file holding it
    audit_public_key_file: str = ""  # a process that only verifies may hold just this
    audit_anchor_dir: str = ""  # append-only checkpoint file; default instance/audit-anchor
    audit_anchor_s3_bucket: str = ""  # a bucket of its own; endpoint and keys default to S3's
    audit_anchor_s3_endpoint: str = ""
    audit_anchor_s3_access_key: str = ""
    audit_anchor_s3_secret_key: str = ""
    audit_checkpoint_minutes: int = 15  # the beat writes one this often (if the chain grew)
    audit_tsa_url: str = ""  # RFC 3161 time-stamping authority, optional
    audit_tsa_ca_file: str = ""  # PEM roots the TSA's certificate must chain to
    audit_tsa_timeout_seconds: int = 10
    # Fixity (docs/production.md): every object decrypted and held against its digest.
    fixity_mb_per_s: int = 20  # read at most this fast (ciphertext); 0 = unlimited
    fixity_period_days: int = 30  # the whole archive is checked once in this period
    fixity_slice_minutes: int = 10  # the beat runs a slice this often, paced to the period
    orphan_grace_hours: int = 24  # an object without a row this old is garbage, deleted
    # Backup and restore (docs/production.md): a folder or s3://bucket/prefix; its S3
    # endpoint and keys default to the document store's. The fixity repair takes good
    # copies from its objects/.
    backup_to: str = ""
    backup_passphrase: str = ""  # seals the keys in every backup (scrypt + AES-GCM)
    backup_s3_endpoint: str = ""
    backup_s3_access_key: str = ""
    backup_s3_secret_key: str = ""
    backup_s3_secure: bool | None = None  # None: as ARCHIVE_S3_SECURE
    backup_keep_daily: int = 7  # snapshots kept: the newest of each of the last N days ...
    backup_keep_weekly: int = 4  # ... and of each of the M weeks before them
    backup_schedule: str = "24h"  # how often the beat backs up ("30m", "6h", "off")
    # Celery on Redis: a task a killed worker held is delivered again after this many seconds.
    broker_visibility_timeout: int = 3600
    broker_restore_seconds: int = 100  # how often a worker looks for such tasks (Redis)
    # The job outbox: beat sends the jobs left unsent (broker was down) this often; a backlog
    # older than ten of these periods (at least 5 minutes) degrades the health check.
    outbox_relay_seconds: int = 30
    # The import page (docs/import.md): uploads are unpacked into import_staging_dir (default
    # instance/imports), which the web processes and the workers must share; a ZIP of more
    # than import_zip_max_files members or import_zip_max_mb unpacked is refused. A folder
    # under import_root (only its subfolders) may be named instead of a ZIP, for large imports.
    import_staging_dir: str = ""
    import_root: str = ""
    import_zip_max_files: int = 20000
    import_zip_max_mb: int = 4096
    import_keep_hours: int = 72  # a job's folder (its report) is removed this long after
    # Notifications (docs/notifications.md): e-mail over SMTP (STARTTLS by default, or
    # implicit TLS), a private CA file for the server's certificate if it needs one.
    smtp_host: str = ""  # empty: no e-mail is sent (the notification centre still shows all)
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    smtp_starttls: bool = True
    smtp_tls: bool = False
    smtp_ca_file: str = ""
    smtp_timeout_seconds: int = 10
    # Webhooks on private or loopback addresses are refused unless their host or a network
    # (CIDR) holding their address is listed here (comma-separated).
    notify_allowed_hosts: str = ""
    notify_webhook_timeout_seconds: int = 10
    notify_max_attempts: int = 5  # a delivery is failed (and shown to admins) after these
    notify_retry_seconds: int = 60  # the first retry's wait; each later one waits 4x longer
    notify_digest_hour: int = 9  # UTC hour of the daily digest (17:00 in China)
    public_url: str = ""  # e.g. https://archive.example.com: links in messages are absolute
    holidays_file: str = ""  # the working-day calendar (default: China's, shipped)
    # Lending paper originals (docs/paper.md): a loan is due back when its grant ends, or this
    # many days after it is handed out if that is earlier (0: the grant's end).
    paper_loan_days: int = 0
    remind_days: dict[str, int] = field(default_factory=dict)
    escalate_days: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every field from ``ARCHIVE_<FIELD>``; fill the embedded defaults."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, (pattern, kind) in KEYED.items():
            keyed: dict[str, Any] = {}
            for key, raw in env.items():
                match = pattern.match(key)
                if match and raw.strip():
                    keyed[match.group(1).lower()] = kind(raw.strip())
            values[name] = keyed
        for f in fields(cls):
            if f.name == "extra" or f.name in KEYED:
                continue
            value = env.get(PREFIX + f.name.upper())
            if value is None or value == "":
                continue
            raw = value
            default = f.default
            if f.name == "instance_dir":
                values[f.name] = Path(raw)
            elif isinstance(default, bool) or f.name in ("secure_cookies", "backup_s3_secure"):
                values[f.name] = _as_bool(raw)
            elif isinstance(default, int):
                values[f.name] = int(raw)
            else:
                values[f.name] = raw
        values.update(overrides)
        return cls(**values).with_defaults()

    def with_defaults(self) -> Settings:
        """Derive the embedded defaults from the instance folder."""
        inst = Path(self.instance_dir).resolve()
        return replace(
            self,
            instance_dir=inst,
            database_url=self.database_url or f"sqlite:///{inst / 'archive.sqlite3'}",
            broker_url=self.broker_url or f"sqla+sqlite:///{inst / 'broker.sqlite3'}",
            result_backend=self.result_backend or f"db+sqlite:///{inst / 'results.sqlite3'}",
            storage_dir=self.storage_dir or str(inst / "objects"),
            search_index_dir=self.search_index_dir or str(inst / "index"),
            keyring_file=self.keyring_file or str(inst / "keyring.json"),
            temp_dir=self.temp_dir or str(inst / "tmp"),
            import_staging_dir=self.import_staging_dir or str(inst / "imports"),
            # The file anchor is the default unless a bucket is named (then only if asked).
            audit_anchor_dir=self.audit_anchor_dir
            or ("" if self.audit_anchor_s3_bucket else str(inst / "audit-anchor")),
        )

    @property
    def embedded(self) -> bool:
        """True on the one-machine default (SQLite database)."""
        return self.database_url.startswith("sqlite")

    @property
    def cookies_secure(self) -> bool:
        return (not self.embedded) if self.secure_cookies is None else self.secure_cookies
