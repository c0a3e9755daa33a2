"""Imports every model module so the metadata knows every table (Alembic, tests)."""

from archive_service.access import models as access_models  # noqa: F401
from archive_service.accounts import models as accounts_models  # noqa: F401
from archive_service.accounts import role_models  # noqa: F401
from archive_service.archive import models as archive_models  # noqa: F401
from archive_service.audit import models as audit_models  # noqa: F401
from archive_service.changes import models as changes_models  # noqa: F401
from archive_service.checks import models as checks_models  # noqa: F401
from archive_service.disposal import models as disposal_models  # noqa: F401
from archive_service.duties import models as duties_models  # noqa: F401
from archive_service.fixity import models as fixity_models  # noqa: F401
from archive_service.notifications import models as notifications_models  # noqa: F401
from archive_service.outbox import models as outbox_models  # noqa: F401
from archive_service.paper import models as paper_models  # noqa: F401
from archive_service.transfer import models as transfer_models  # noqa: F401
from archive_service.vault import models as vault_models  # noqa: F401
from archive_service.viewing import models as viewing_models  # noqa: F401
