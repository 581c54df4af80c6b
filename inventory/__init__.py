"""A seller's lots and their sync to BrickLink and BrickOwl."""
