"""Resident pages: the form, submission, the phone in a browser, bots and concurrency."""
