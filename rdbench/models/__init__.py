"""Learned image compression models (TreeNet first) and their weight / bitstream files."""
