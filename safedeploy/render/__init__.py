"""Pictures and pages as text: pure functions from safedeploy's data to SVG and HTML.

No I/O and no plotting or templating library: the output is small, deterministic (the same
input gives the same bytes, so a rerun writes nothing) and needs nothing from the network.
"""
