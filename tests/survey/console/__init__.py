"""Office console pages: sign-in, set-up, review, permissions, the office's journey in a browser."""
