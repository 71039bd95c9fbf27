"""QR codes for SMART Health Links (segno; the only module importing it). Error correction is M, as the SHL spec
asks, and segno is told not to raise it on its own, so every code Carry prints is readable the same way."""

from __future__ import annotations

import io

import segno

__all__ = ["qr_matrix", "qr_png", "qr_svg"]


def _make(data: str) -> segno.QRCode:
    return segno.make(data, error="m", boost_error=False, micro=False)


def qr_png(data: str, *, scale: int = 6, border: int = 4) -> bytes:
    out = io.BytesIO()
    _make(data).save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


def qr_svg(data: str, *, scale: int = 6, border: int = 4, title: str = "SMART Health Link") -> str:
    out = io.BytesIO()
    _make(data).save(out, kind="svg", scale=scale, border=border, xmldecl=False, title=title)
    return out.getvalue().decode("utf-8")


def qr_matrix(data: str) -> tuple[tuple[int, ...], ...]:
    """The modules of the code (1 = dark), without the quiet zone: for tests and for drawing it elsewhere."""
    return tuple(tuple(int(bool(m)) for m in row) for row in _make(data).matrix)
