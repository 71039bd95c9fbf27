"""Carry, the patient's side: the encrypted record, the UI, the local server and the command line."""
