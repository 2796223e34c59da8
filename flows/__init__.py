"""cxflow's reference flows, one file each; the file name is the flow id."""
