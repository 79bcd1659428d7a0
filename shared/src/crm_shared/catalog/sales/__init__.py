"""Events of the sales service (topic ``crm.sales.events``), one module per kind of record.
Importing this package imports every module in it, as ``crm_shared.catalog`` does."""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
