"""esalog: parse, track and ship Cisco Secure Email Gateway (ESA) mail logs."""

__version__ = "0.1.0"
__all__ = ["__version__"]
