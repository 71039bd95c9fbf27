"""The SMART Health Link codec: what travels between the patient's Carry, a host and a reader.

- shl: the `shlink:/` payload, its manifest and files (encode, decode, check)
- jose: JWE encryption of a link's files (A256GCM, direct key), signed and sealed JOSE objects
- passcode: a link's passcode, hashed for the host
- shc: SMART Health Cards (signed JWS of a FHIR Bundle), read from files and links
- receive: Carry's own receiver: open a link, fetch and decrypt its files, parse what they hold
"""
