"""Models of the widget app."""
