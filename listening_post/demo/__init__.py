"""`listening-post demo`: the whole product on SQLite, with local fakes of the platforms."""
