"""Per-GPU memory of a CogVideoX/SAT run, estimated from the config alone (no torch).

`sizes` reads the model's shapes from the config, `components` turns them into bytes
(one function per component, each formula commented), `gpus` knows the cards, and
`estimate` adds them up into a verdict with what would make a plan fit.
"""
