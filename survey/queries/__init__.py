"""Read models: what a page or download shows, and what a user may see
(``access.scope_for`` is the one place that decides it). Nothing here writes."""
