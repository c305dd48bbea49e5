"""The app as a whole: settings, transactions, errors and faults, security, the route walk, CLI, translations, vocabulary, migrations."""
