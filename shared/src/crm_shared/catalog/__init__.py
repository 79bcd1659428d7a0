"""Every service's event types. Importing this package registers them all in ``CATALOG``."""

from crm_shared.catalog import contacts
from crm_shared.events.catalog import CATALOG

__all__ = ["CATALOG", "contacts"]
