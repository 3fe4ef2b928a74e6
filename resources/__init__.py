"""Files that ship with the application: the icon, the .desktop entry, a small sample export."""
