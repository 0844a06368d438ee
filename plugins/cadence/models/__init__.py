"""SQL models (DESIGN §6): the runner that builds ``include/sql`` staging ->
intermediate -> marts, account health and segment membership."""
