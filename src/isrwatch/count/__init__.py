"""count stage."""
