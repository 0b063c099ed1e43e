"""Rendering: values in, text out.  The only package besides cli that imports rich."""
