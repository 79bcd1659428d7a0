"""Assigning leads by the rules: territories, the roster of reps, and their turns."""
