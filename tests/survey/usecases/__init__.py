"""Use cases that change data: imports, integrity flags, privacy."""
