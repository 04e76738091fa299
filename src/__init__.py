"""riskdraw: risk-differentiated double-random inspection plans."""

__version__ = "0.1.0"
