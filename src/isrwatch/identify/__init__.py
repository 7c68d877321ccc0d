"""identify stage."""
