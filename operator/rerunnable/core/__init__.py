"""The pure core: no clock, no network, no kopf, no Kubernetes client.

Everything here takes the current time as an argument and returns values, so
it can be tested with fixed times and without a cluster.
"""
