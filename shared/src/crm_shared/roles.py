"""The roles a caller can have. A leaf module: the service declarations name the roles
allowed to call them without depending on authentication."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    SALES_REP = "sales_rep"
    SERVICE_AGENT = "service_agent"
    MARKETER = "marketer"
