"""Touch candidates: every touch each team wants to send, before the planner decides.

One module per candidate source (tier cadences, onboarding journey, renewal timeline,
behaviour triggers, campaigns, the NPS survey, minimum cadence);
:mod:`cadence.candidates.generate` joins them into the ``touch_candidates`` frame. Every
rule comes from the ``candidates`` policy section (:mod:`cadence.candidates.policy`).
"""
