"""cocotb drivers and monitors: valid/ready stream source and sink with payload packing, the update
controller's registers and update stream, the behavioural array on a controller's pulse lines, the
shared reset."""
