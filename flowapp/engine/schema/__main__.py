"""`python -m flowapp.engine.schema`: regenerate automation-v2.json from the node registry."""

import flowapp.engine  # noqa: F401 - registers the node types
from flowapp.engine.schema import write_schema

if __name__ == "__main__":
    print(f"wrote {write_schema()}")
