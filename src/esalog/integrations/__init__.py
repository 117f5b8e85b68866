"""esalog inside the tools users already run: exec-filter protocols, a syslog listener, a Splunk app."""
