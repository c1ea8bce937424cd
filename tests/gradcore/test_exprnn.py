"""expRNN: W_hh orthogonal by construction through training, its init, and dL/dh_t against
retain_grad on an independent formula (the map and modReLU written out, float64)."""

from __future__ import annotations

import math

import pytest
import torch

from gradcore.step import forward_backward
from tests.gradcore.helpers import setup, small_spec


def independent_w_hh(layer, orthogonal_map: str) -> torch.Tensor:
    """The paper's map of A = tril(X) - tril(X)^T, written out apart from PyTorch's module."""
    raw = layer.parametrizations.weight_hh.original.tril()
    skew = raw - raw.T
    if orthogonal_map == "matrix_exp":
        return torch.linalg.matrix_exp(skew)
    eye = torch.eye(skew.shape[0], dtype=skew.dtype)
    return torch.linalg.inv(eye - skew / 2) @ (eye + skew / 2)


def reference_hidden_grads(net, task, batch, orthogonal_map: str) -> torch.Tensor:
    x = batch.inputs
    hiddens = []
    for layer in net.layers:
        w_hh = independent_w_hh(layer, orthogonal_map)
        h = x.new_zeros(x.shape[1], layer.hidden_size)
        steps = []
        for t in range(x.shape[0]):
            z = x[t] @ layer.weight_ih.T + h @ w_hh.T
            h = torch.copysign(torch.relu(z.abs() + layer.bias), z)  # modReLU
            h.retain_grad()
            steps.append(h)
        hiddens.append(steps)
        x = torch.stack(steps)
    logits = net.readout(x) if task.every_step else net.readout(x[-1])
    task.loss(logits, batch.targets).backward()
    norms = [[h.grad.norm().item() for h in steps] for steps in hiddens]
    return torch.tensor(norms, dtype=torch.float64)


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley"])
@pytest.mark.parametrize("task", ["adding", "copy"])
def test_hidden_grad_norms_match_retain_grad(orthogonal_map: str, task: str) -> None:
    spec = small_spec(cell="exprnn", task=task, seq_len=6, num_layers=2)
    spec = spec.model_copy(
        update={"exprnn": spec.exprnn.model_copy(update={"orthogonal_map": orthogonal_map})}
    )
    net, task_data, batch = setup(spec)
    out = forward_backward(net, task_data, batch, spec.training, probe=True)
    net.zero_grad()
    expected = reference_hidden_grads(net, task_data, batch, orthogonal_map)
    torch.testing.assert_close(out.hidden_grad_norms, expected, rtol=1e-9, atol=0)


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley"])
def test_recurrent_matrix_stays_orthogonal_after_every_update(orthogonal_map: str) -> None:
    spec = small_spec(cell="exprnn", exprnn={"orthogonal_map": orthogonal_map})
    net, task, batch = setup(spec)
    layer = net.layers[0]
    start = layer.weight_hh.detach().clone()
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    eye = torch.eye(spec.hidden_size, dtype=torch.float64)
    for _ in range(4):
        optimizer.zero_grad()
        forward_backward(net, task, batch, spec.training, probe=False)
        optimizer.step()
        w_hh = layer.weight_hh.detach()
        torch.testing.assert_close(w_hh.T @ w_hh, eye, rtol=0, atol=1e-12)
        torch.testing.assert_close(w_hh, independent_w_hh(layer, orthogonal_map).detach())
    assert (layer.weight_hh.detach() - start).abs().max() > 1e-3  # it did train


def test_init_rotates_each_plane_by_an_angle_in_minus_pi_pi() -> None:
    net, _, _ = setup(small_spec(cell="exprnn", hidden_size=6))
    w_hh = net.layers[0].weight_hh.detach()
    for block in range(3):
        rotation = w_hh[2 * block : 2 * block + 2, 2 * block : 2 * block + 2]
        angle = math.atan2(rotation[1, 0].item(), rotation[0, 0].item())
        expected = torch.tensor(
            [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]],
            dtype=torch.float64,
        )
        torch.testing.assert_close(rotation, expected)
    off_blocks = w_hh.clone()
    for block in range(3):
        off_blocks[2 * block : 2 * block + 2, 2 * block : 2 * block + 2] = 0
    assert off_blocks.abs().max() == 0
    bias = net.layers[0].bias.detach()
    assert bias.abs().max() <= 0.01
