"""Update methods in float (and the fixed-point engine as one): a batch of (x, delta) samples in, rank-1
terms out. SGD, MBGD, exact truncated SVD (rank k), the paper's SBE, its division-free variant (SBEOja),
SBPCA, and SBEFixed (the engine's arithmetic behind the same interface)."""
