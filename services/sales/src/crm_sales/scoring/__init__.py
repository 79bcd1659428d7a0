"""Lead scoring beyond the pure rules (``crm_sales.domain.scoring``): the rule set in
force (read and put through the API, cached by version for the command path), the
engagement other services' events bring, and the sweeper that rescores leads as their
engagement ages (docs/architecture.md, "Lead scoring")."""
