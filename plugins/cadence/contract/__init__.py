"""The contract every step shares (DESIGN §4-§5): source entities, the declared warehouse
tables and the schema step, the warehouse itself, settings, policy section types, the
audience grammar, e-mail normal form and erased-contact pseudonyms. It imports no step."""
