"""Video analysis and processing for the edit stage."""
