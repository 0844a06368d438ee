"""The hourly handoff: consent sync, dispatch through providers, engagement.

The work lives in :mod:`.consent`, :mod:`.dispatch` and :mod:`.engagement`; the policy
section in :mod:`.policy`.
"""
