"""Compatibility APIs: existing clients of other services work unchanged against us.

- :mod:`.kopeechka`: kopeechka.store's activation API at the root paths.
- :mod:`.mailtm`: mail.tm's REST API under ``/compat/mailtm``.
"""
