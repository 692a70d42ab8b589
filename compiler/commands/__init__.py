"""What the CLI's commands do beyond compiling: check, diff, explain, the plan summary, topology."""
