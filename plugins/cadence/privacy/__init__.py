"""Erasure (DESIGN §9.8): pseudonymise an erased contact in every table and file."""
