"""The optional recurrent-map measurements of a probe step, collected into their trace."""

from __future__ import annotations

import torch
from torch import Tensor

from gradcore.jacobian import jacobian_spectral_norms
from gradcore.lyapunov import lyapunov_exponents
from gradcore.recurrent import RecurrentNet
from gradcore.result import DynamicsTrace
from gradcore.spec import ProbeSpec
from gradcore.statemap import layer_trajectories


class MapProbe:
    """Measures every layer on the probe batch, with the parameters its dL/dh_t was taken
    with. Random start vectors come from a generator seeded by the run's seed."""

    def __init__(self, spec: ProbeSpec, layers: list[str], seed: int) -> None:
        self.spec = spec
        self.layers = layers
        self.generator = torch.Generator().manual_seed(seed)
        self.steps: list[int] = []
        self.jacobian_norm: list[list[list[float]]] = []
        self.lyapunov: list[list[list[float]]] = []
        self.eigenvalues: list[list[list[list[float]]]] = []

    def measure(self, step: int, net: RecurrentNet, inputs: Tensor) -> None:
        """inputs: the probe batch (T, B, input_size)."""
        self.steps.append(step)
        if self.spec.eigenvalues:
            # [l][k] = [re, im]: JSON has no complex numbers.
            spectra = [torch.view_as_real(layer.eigenvalues()) for layer in net.layers]
            self.eigenvalues.append([spectrum.tolist() for spectrum in spectra])
        if not self.spec.maps:
            return
        paths = layer_trajectories(net, inputs)
        if self.spec.jacobian_norms:
            iters = self.spec.power_iters
            norms = [jacobian_spectral_norms(path, iters, self.generator) for path in paths]
            self.jacobian_norm.append(torch.stack(norms).tolist())
        count = self.spec.lyapunov_exponents
        if count > 0:
            exponents = [lyapunov_exponents(path, count, self.generator) for path in paths]
            self.lyapunov.append(torch.stack(exponents).tolist())

    def trace(self) -> DynamicsTrace:
        return DynamicsTrace(
            step=self.steps,
            layers=self.layers,
            jacobian_norm=self.jacobian_norm if self.spec.jacobian_norms else None,
            lyapunov=self.lyapunov if self.spec.lyapunov_exponents > 0 else None,
            eigenvalues=self.eigenvalues if self.spec.eigenvalues else None,
        )
