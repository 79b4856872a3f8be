"""The guarantee's rules: when a window closes, what counts as a qualifying job, who is owed."""
