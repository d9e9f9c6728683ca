"""Breaking the running shop on purpose (`mosaic chaos`, issue 19): faults on the hops
between processes (faults.py, proxy.py), where the runner puts them (hops.py), what the
runner does when asked (runner.py) and the command line (cli.py)."""
