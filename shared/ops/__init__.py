"""Natural-language ops commands for operators: a plan (one tool of the registry), run at once
when it only reads, after a confirmation when it changes something."""
