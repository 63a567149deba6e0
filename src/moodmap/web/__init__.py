"""The web side of moodmap: the interactive mood map's assets (and, later, the HTTP app)."""
