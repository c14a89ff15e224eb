"""Synthetic labeling worlds with a known truth: the digits demo (``demo``), the same world at any scale
(``scale``), and the shared noise model and stationary series for simulation studies (``simulation``)."""
