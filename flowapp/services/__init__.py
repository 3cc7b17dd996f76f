"""Use-cases: database, engine and Meta client put together. Services flush; views and jobs commit."""
