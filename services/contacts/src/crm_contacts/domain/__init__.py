"""The contacts domain: people (contacts) and companies (accounts). Pure, no I/O."""
