"""Family trust: spaces, verified members, consent, its revocation and members' own data.

This package holds the rules and the records; the conversations that lead a family through
them live in ``bot/flows``, and who may do what is decided in one place, ``bot/authz.py``.
"""
