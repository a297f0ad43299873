"""Webhook payloads in and out: Kapso and WhatsApp Cloud models, translators, signatures."""
