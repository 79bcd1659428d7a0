"""Who is calling: bearer JWTs for people, API keys for systems; roles and departments."""

from crm_shared.auth.principal import Principal, Role

__all__ = ["Principal", "Role"]
