"""Weight initialisation (NOTES §5). Filled in by the nn work."""
