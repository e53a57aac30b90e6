"""NumPy reference models that define the behaviour of the SBE hardware.

float models (the paper's SBE and its baselines), the bit-exact fixed-point twin of the RTL,
the behavioural memristor crossbar, the pulse schemes that write updates, and the trainer.
"""
