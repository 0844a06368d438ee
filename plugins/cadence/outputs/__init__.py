"""What the plan becomes for people and other systems: CSM task lists and feeds, CRM tasks,
health properties and expansion deals pushed to the CRM, the nightly report, docs pages."""
