"""cocotb drivers and monitors: valid/ready stream source and sink, the behavioural array on a
controller's pulse lines, the shared reset."""
