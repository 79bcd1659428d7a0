"""The sales domain's rules, pure: no I/O, no framework, values in and values out."""
