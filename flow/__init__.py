"""The hardware flow around the RTL blocks: Verilog generation (`make verilog`), lint (`make lint`),
synthesis and place and route (`make synth`), the configurations they share (flow/configs/)."""
