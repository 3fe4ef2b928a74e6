"""Item models fed by background jobs: they never read a database themselves."""
