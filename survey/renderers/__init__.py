"""Renderers: turn reports and rows into files and data for people and
programs (PDF, workbook, CSV export, QR codes and posters, API rows). They read
what they are given and never change data."""
