"""Board tops: the host link top (hdl/link/host_top.py) on real boards (amaranth-boards platforms)."""
