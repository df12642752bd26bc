"""Kizuki's benchmark: speed, memory and scale from 44 to 1,000,000 cases, next to peers.

Run ``python -m bench`` from the repository root (``--help`` for sizes and options).
"""
