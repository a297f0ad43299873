"""The application service: every state change goes through here (one write path)."""
