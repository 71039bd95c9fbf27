"""Carry's shipped data, a package so that it travels inside the wheel and is found with importlib.resources.

Nothing here is code: demo-patients/ (synthetic Synthea patients for the demo hospital), directory/ (the provider
directory seed and the list of vendor lists), vendor-quirks.json (the vendor registry: identity, host matching
and search quirks), fonts/ (DejaVu Sans for the summary PDF, under its own licence). sync/assets.py is the one
place that locates them.
"""
