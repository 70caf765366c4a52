"""The built-in web dashboard (``tweetsense dashboard``) and the Grafana export."""
