"""Files and codes: PDF, workbook, QR codes and posters, read back."""
