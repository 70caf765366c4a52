"""The `tweetsense` command line."""
