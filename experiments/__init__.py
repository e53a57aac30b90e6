"""Experiments on top of the golden models: the paper's figures (`make paper`), the fixed-point engine's
accuracy report (`make accuracy`), learning-rate tuning."""
