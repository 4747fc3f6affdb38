"""The packaged demo: a story that runs the whole loop with no network and no services."""
