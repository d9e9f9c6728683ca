"""`mosaic bench`: the shop's throughput, latency, CPU and memory under load, and the price
of its service boundaries (microservices ÷ in-process). Entry point: mosaic.bench.run."""
