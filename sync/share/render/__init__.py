"""A share rendered for people: the summary PDF (pdf) and the link's QR code (qr)."""
