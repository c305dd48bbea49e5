"""Infrastructure: reading uploaded tables, bulk reads, sign-in throttling,
report warm-up. No business rules live here."""
