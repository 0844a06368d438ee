"""The hourly handoff: consent sync, dispatch through providers, engagement.

The work lives in :mod:`.consent`, :mod:`.dispatch` and :mod:`.engagement`; the policy
section in :mod:`.policy`. :mod:`cadence.policy` is loaded first because it imports that
section: whichever module is imported first, ``Section`` exists before the section needs it.
"""

import cadence.policy  # noqa: F401 - load order, see above
