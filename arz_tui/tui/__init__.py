"""The Textual terminal UI: launch form, live run dashboard, results browser.

Importing this package imports textual; torch and SB3 never load in the UI process (training
runs in a child process that prints its events)."""
