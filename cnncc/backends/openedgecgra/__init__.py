"""OpenEdgeCGRA backend: real-ISA kernels for a 4x4 CGRA on X-HEEP, an RTL-faithful simulator, the paper's
four mappings plus cnncc's own, RTL-exact launch/configuration costs, a host CPU model, energy estimates and
artefacts a host can run (memory images, context-memory image, launch plan, a generated C program).

Contract (``cnncc/backends/base.py``): ``spec.CgraSpec`` (the ``[params]`` keys) and
``backend.OpenEdgeCgraBackend`` (registered in ``cnncc/backends/registry.py``). See ``README.md`` here.
"""
