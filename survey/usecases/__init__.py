"""Use cases: everything that changes data (a submission, a round's set-up,
accounts, review, imports, privacy). Each function checks before it writes,
flushes, and writes its audit entry in the caller's transaction; none commits
(``survey.transactions`` does, once per request or command)."""
