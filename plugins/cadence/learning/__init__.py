"""Learning from what was sent (DESIGN §13): send times and the promotional mix steered by
observed engagement, policy what-if replays, and cadence experiments with measured
effect. The policy sections are in :mod:`.policy`."""
