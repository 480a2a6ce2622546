"""One run of an action, and fan-outs of many, independent of LSP: the Engine and its tier
cascade, the routing policy, the action catalogue, prompts, workers, and the one delivery
path that both the editor and the shell use."""
