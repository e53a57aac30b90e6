"""Networks and training loops: data sets, the MLP and its float trainer, training on behavioural
crossbars, and the closed loop's golden twin (fixed-point engine -> pulse scheme -> array); one batch
order and epoch loop for all three trainers (loop.py)."""
