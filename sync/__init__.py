"""Everything in Carry that crosses the device boundary: portals, FHIR, sharing, the sandbox portal.

`sync` never imports `app`; where it needs persistence it states a Protocol that `app.record` implements.
"""
