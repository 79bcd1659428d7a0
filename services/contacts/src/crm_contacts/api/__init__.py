"""HTTP adapter of the contacts service: one router per resource."""
