"""Student networks: sizes, shapes, fusion wiring and config round-trips."""

import numpy as np
import torch

from models.export.graphs import feature_shapes
from models.nets import StudentConfig, build_student, get_config


def test_full_student_is_415m_within_2_percent():
    counts = build_student(get_config("full"), device="meta").parameter_counts()
    assert abs(counts["student"] - 415e6) / 415e6 <= 0.02, counts
    # DINOv2-base is counted apart, as the paper does
    assert 85e6 < counts["dinov2"] < 88e6


def test_small_fits_the_embedded_budget_and_tiny_is_tiny():
    assert build_student(get_config("small"), device="meta").parameter_counts()["total"] <= 40e6
    assert build_student(get_config("tiny"), device="meta").parameter_counts()["total"] < 2e6


def test_config_round_trips_through_json_dict():
    for name in ("full", "small", "tiny"):
        cfg = get_config(name)
        assert StudentConfig.from_dict(cfg.to_dict()) == cfg


def _forward(cfg):
    torch.manual_seed(0)
    s = build_student(cfg).eval()
    H, W = cfg.resolutions[0]
    h, w = H // 8, W // 8
    img = torch.rand(1, 3, H, W) * 2 - 1
    with torch.no_grad():
        zp = s.vae.encode(img)
        zg = s.vae.encode(img.flip(-1))
        sig, cat = torch.tensor([0.5]), torch.tensor([2])
        feats = s.garment_net(zg, sig, cat)
        S = cfg.adapter.dino.image_size
        tok = s.adapter(torch.rand(1, 3, S, S) * 2 - 1)
        xh = 2 * h if cfg.latent_concat else h
        v = s.tryon_net(torch.randn(1, 16, xh, w), zp, zg, sig, cat, tok, feats)
    return s, zp, feats, tok, v


def test_tiny_forward_shapes_and_fusion_layers():
    cfg = get_config("tiny")
    s, zp, feats, tok, v = _forward(cfg)
    H, W = cfg.resolutions[0]
    assert zp.shape == (1, 16, H // 8, W // 8)
    assert v.shape == (1, 16, 2 * H // 8, W // 8)  # latent concatenation: both halves
    assert tok.shape == (1, 16, cfg.unet.context_dim)
    assert len(feats) == s.tryon_net.num_fusion_layers
    assert [tuple(f.shape) for f in feats] == feature_shapes(cfg, (H, W))


def test_garment_features_change_tryon_output():
    """Multi-scale fusion is wired: TryonNet reads GarmentNet's features."""
    cfg = get_config("tiny")
    s, zp, feats, tok, v = _forward(cfg)
    H, W = cfg.resolutions[0]
    x = torch.randn(1, 16, 2 * H // 8, W // 8)
    args = (x, zp, zp, torch.tensor([0.5]), torch.tensor([0]), tok)
    with torch.no_grad():
        a = s.tryon_net(*args, feats)
        b = s.tryon_net(*args, [f + 1.0 for f in feats])
        c = s.tryon_net(x, zp, zp, torch.tensor([0.5]), torch.tensor([0]), tok + 1.0, feats)
    assert not torch.allclose(a, b)
    assert not torch.allclose(a, c)  # the adapter tokens reach the decoupled cross-attention


def test_no_lc_ablation_covers_the_person_only():
    cfg = get_config("tiny").replace(latent_concat=False)
    _, zp, _, _, v = _forward(cfg)
    assert v.shape == zp.shape


def test_tcg_head_reconstructs_latent_shape():
    cfg = get_config("tiny")
    s, zp, feats, _, _ = _forward(cfg)
    rec = s.garment_net.reconstruct(feats, zp.shape[2], zp.shape[3])
    assert rec.shape == zp.shape


def test_attention_exports_as_one_ort_node_with_the_same_result(tmp_path):
    """Export writes every attention as ONNX Runtime's fused MultiHeadAttention node (no
    score matrix in memory); ORT's result equals torch's, and training keeps SDPA."""
    import onnx
    import onnxruntime as ort

    from models.nets.layers import Attention, DecoupledCrossAttention, use_ort_attention

    class Both(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.self_attn = Attention(16, 2)
            self.cross = DecoupledCrossAttention(16, 2, context_dim=8)

        def forward(self, x, garment, ctx, img):
            return self.cross(self.self_attn(x, torch.cat([x, garment], 1)), ctx, img)

    torch.manual_seed(0)
    net = Both().eval()
    feeds = {"x": torch.randn(1, 37, 16), "garment": torch.randn(1, 50, 16), "ctx": torch.randn(1, 4, 8),
             "img": torch.randn(1, 6, 8)}
    with torch.no_grad():
        expected = net(**feeds).numpy()
    use_ort_attention(net, True)
    path = tmp_path / "attn.onnx"
    torch.onnx.export(net, tuple(feeds.values()), str(path), input_names=list(feeds), dynamo=True, opset_version=18)
    use_ort_attention(net, False)
    ops = [(n.domain, n.op_type) for n in onnx.load(str(path)).graph.node]
    assert ops.count(("com.microsoft", "MultiHeadAttention")) == 3
    assert ("", "Softmax") not in ops
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {k: v.numpy() for k, v in feeds.items()})[0]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    with torch.no_grad():  # back to SDPA, the same numbers
        np.testing.assert_array_equal(net(**feeds).numpy(), expected)


def test_top_level_garment_attention_reads_the_garment_half_into_the_person_half():
    """At the top latent level the person's tokens attend to the garment's: a new layer is
    the identity (zero output projection); once trained, the person half depends on the
    garment half and the garment half passes through unchanged."""
    import dataclasses

    from models.nets.layers import GarmentAttention

    torch.manual_seed(0)
    layer = GarmentAttention(64, 32)
    h = torch.randn(2, 64, 8, 6)
    assert torch.equal(layer(h, 4), h)
    torch.nn.init.normal_(layer.attn.to_out.weight, std=0.1)
    out = layer(h, 4)
    other = h.clone()
    other[:, :, 4:] = torch.randn(2, 64, 4, 6)  # another garment
    out2 = layer(other, 4)
    assert torch.equal(out[:, :, 4:], h[:, :, 4:])
    assert (out2[:, :, :4] - out[:, :, :4]).abs().mean() > 1e-3
    assert layer.attn.heads == 2 and GarmentAttention(224, 64).attn.heads == 7  # 224 = 7 x 32

    cfg = get_config("tiny")
    cfg = cfg.replace(unet=dataclasses.replace(cfg.unet, top_attention=True))
    assert StudentConfig.from_dict(cfg.to_dict()) == cfg
    s = build_student(cfg)
    assert s.tryon_net.unet.garment_attn is not None
    assert build_student(get_config("tiny")).tryon_net.unet.garment_attn is None


def test_vae_colour_shortcut_carries_each_cells_mean_colour():
    """With ``shortcut`` the latent's first three channels hold the 8x8 cells' mean colour
    and the decoder adds them back: with the learned paths silenced, a round trip is the
    bilinear upsampling of the cell means (so a flat colour comes back exactly)."""
    from models.nets.vae import LightVAE, VAEConfig

    vae = LightVAE(VAEConfig(width=8, blocks_per_stage=1, shortcut=True)).eval()
    for net in (vae.encoder, vae.decoder):
        torch.nn.init.zeros_(net.layers[-1].weight)
        torch.nn.init.zeros_(net.layers[-1].bias)
    image = torch.rand(2, 3, 32, 24) * 1.6 - 0.8
    z = vae.encode_raw(image)
    cells = torch.nn.functional.avg_pool2d(image, 8)
    assert torch.allclose(z[:, :3], cells, atol=1e-6)
    assert float(z[:, 3:].abs().max()) == 0.0
    expected = torch.nn.functional.interpolate(cells, scale_factor=8.0, mode="bilinear", align_corners=False)
    assert torch.allclose(vae.decode(vae.encode(image)), expected, atol=1e-5)
    flat = torch.full((1, 3, 16, 16), 0.25)
    flat_out = vae(flat)
    assert torch.allclose(flat_out, torch.full_like(flat_out, 0.25), atol=1e-6)
    # without the shortcut the same silenced networks give nothing back
    plain = LightVAE(VAEConfig(width=8, blocks_per_stage=1)).eval()
    torch.nn.init.zeros_(plain.encoder.layers[-1].weight)
    torch.nn.init.zeros_(plain.encoder.layers[-1].bias)
    assert float(plain.encode_raw(image).abs().max()) == 0.0


def test_vae_with_shortcut_and_channel_statistics_exports_with_the_same_result(tmp_path):
    """Per-channel scale and shift and the colour shortcut go into the ONNX graphs the engine
    runs (encoder: image -> scaled latent; decoder: back), with torch's numbers."""
    import onnxruntime as ort

    from models.export.onnx_export import export_graph
    from models.nets.vae import LightVAE, VAEConfig

    torch.manual_seed(0)
    cfg = VAEConfig(width=8, blocks_per_stage=1, shortcut=True,
                    channel_scale=tuple(float(v) for v in torch.rand(16) * 3 + 0.5),
                    channel_shift=tuple(float(v) for v in torch.randn(16) * 0.1))
    vae = LightVAE(cfg).eval()

    class Enc(torch.nn.Module):
        def forward(self, image):
            return vae.encode(image)

    class Dec(torch.nn.Module):
        def forward(self, latent):
            return vae.decode(latent)

    image = torch.rand(1, 3, 32, 24) * 2 - 1
    with torch.no_grad():
        z = vae.encode(image)
        # the affine maps are exact inverses around the raw networks
        torch.testing.assert_close((z / torch.tensor(cfg.channel_scale).view(1, -1, 1, 1)
                                    + torch.tensor(cfg.channel_shift).view(1, -1, 1, 1)), vae.encode_raw(image))
        out = vae.decode(z)
    for module, name, feed, expected in ((Enc(), "enc", image, z), (Dec(), "dec", z, out)):
        path = tmp_path / f"{name}.onnx"
        export_graph(module, {"x": feed}, ["y"], path)
        got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": feed.numpy()})[0]
        np.testing.assert_allclose(got, expected.numpy(), rtol=1e-4, atol=1e-5)
