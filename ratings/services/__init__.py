"""The doors the model half (inference/) uses into the ratings app: documented, small, stable.

inference/ calls these instead of reaching into ratings.results.*; see labels.py.
"""
