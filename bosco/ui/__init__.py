"""UI helpers every page may use (the project core, below every app)."""
