"""The Ethos-U configurations the Vela-backed tests use, as (accelerator, system, memory mode), and the cost
model's architecture record for one of them."""

from __future__ import annotations

CS256 = ("ethos-u65-256", "Ethos_U65_Client_Server", "Dedicated_Sram_384KB")
HE256 = ("ethos-u65-256", "Ethos_U65_High_End", "Dedicated_Sram_384KB")
CS512 = ("ethos-u65-512", "Ethos_U65_Client_Server", "Dedicated_Sram_384KB")
HE512 = ("ethos-u65-512", "Ethos_U65_High_End", "Dedicated_Sram_384KB")
U55 = ("ethos-u55-128", "Ethos_U55_High_End_Embedded", "Shared_Sram")


def arch_for(config: tuple[str, str, str]):
    """``U65Config`` of ``(accelerator, system, memory mode)``."""
    from cnncc.backends.ethos_u65.backend import arch_of
    from cnncc.target import load_target

    accel, system, mode = config
    return arch_of(load_target(accel, {"system": system, "memory_mode": mode}))
