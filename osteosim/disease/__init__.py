"""The biology: clonogen burden, growth, kill, cure or relapse (DESIGN §3)."""
