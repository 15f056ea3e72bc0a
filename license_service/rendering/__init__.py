"""License documents: fonts, QR code, seal and page layout (reportlab)."""
