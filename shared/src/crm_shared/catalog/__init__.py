"""Every service's event types, one module per service. Importing this package imports
every module in it, which registers their types in ``CATALOG``: a new service's module
needs no line here."""

import importlib
import pkgutil

from crm_shared.events.catalog import CATALOG

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["CATALOG"]
