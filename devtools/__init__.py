"""Development tools that are not part of the product: local emulators of outside services.

Nothing here imports Django, so each tool starts fast and is testable on its own.
"""
