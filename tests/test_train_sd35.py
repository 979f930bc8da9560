"""The ``sd35`` teacher path, on a tiny random-weight SD3 folder built here (no real weights
exist offline): prompt encoding through the diffusers pipeline, the frozen teacher, a VAE
trained into its latent space, and a student distilled from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from models.train.config import CONFIG_DIR  # noqa: E402

WORDS = ["a", "photo", "of", "person", "wearing", "upper", "lower", "dress", "garment"]


@pytest.fixture(scope="module")
def sd35_dir(tmp_path_factory) -> Path:
    from diffusers import AutoencoderKL, SD3Transformer2DModel
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, CLIPTokenizer

    root = tmp_path_factory.mktemp("tiny-sd35")
    torch.manual_seed(0)
    SD3Transformer2DModel(
        sample_size=32, patch_size=2, in_channels=16, num_layers=2, attention_head_dim=8, num_attention_heads=2,
        joint_attention_dim=32, caption_projection_dim=16, pooled_projection_dim=16, out_channels=16,
        pos_embed_max_size=32,
    ).save_pretrained(root / "transformer")
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in sorted(set("".join(WORDS))):
        vocab[ch] = len(vocab)
        vocab[ch + "</w>"] = len(vocab)
    for w in WORDS:
        vocab.setdefault(w + "</w>", len(vocab))
    files = root / "vocab"
    files.mkdir()
    (files / "vocab.json").write_text(json.dumps(vocab))
    (files / "merges.txt").write_text("#version: 0.2\n")
    for suffix in ("", "_2"):
        CLIPTokenizer(vocab_file=str(files / "vocab.json"), merges_file=str(files / "merges.txt"),
                      model_max_length=77).save_pretrained(root / f"tokenizer{suffix}")
        cfg = CLIPTextConfig(vocab_size=len(vocab), hidden_size=8, intermediate_size=16, num_hidden_layers=2,
                             num_attention_heads=2, max_position_embeddings=77, projection_dim=8,
                             bos_token_id=0, eos_token_id=1, pad_token_id=1)
        CLIPTextModelWithProjection(cfg).save_pretrained(root / f"text_encoder{suffix}")
    AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(8, 8, 8, 8), layers_per_block=1,
        latent_channels=16, norm_num_groups=4, sample_size=64, scaling_factor=1.5305, shift_factor=0.0609,
    ).save_pretrained(root / "vae")
    return root


def test_sd35_teacher_is_prompt_conditioned_and_frozen(sd35_dir):
    from models.train.teachers import Cond, load_teacher

    teacher, meta = load_teacher(sd35_dir)
    assert teacher.kind == "sd35" and teacher.layout == "person" and meta["teacher"]["kind"] == "sd35"
    assert not any(p.requires_grad for p in teacher.parameters())
    assert teacher.prompt_embeds.shape[0] == 3  # one prompt per category
    x = torch.randn(2, 16, 8, 8)
    s = torch.tensor([0.5, 0.5])
    z = torch.zeros(2, 16, 8, 8)
    upper = teacher.predict_x0(x, s, Cond(z, z, torch.tensor([0, 0])))
    dress = teacher.predict_x0(x, s, Cond(z, z, torch.tensor([2, 2])))
    assert upper.shape == x.shape and not torch.allclose(upper, dress)
    # it denoises the person half of an LC canvas
    canvas = torch.randn(2, 16, 16, 8)
    assert teacher.layout_of(canvas, True, z).shape == (2, 16, 8, 8)
    guided, _ = load_teacher(sd35_dir, guidance=3.0)
    assert not torch.allclose(guided.predict_x0(x, s, Cond(z, z, torch.tensor([0, 0]))), upper)


def test_vae_aligned_to_sd35_then_student_distilled_from_it(sd35_dir, tmp_path):
    from models.checkpoint import load_student
    from models.train import train

    common = {"train.max_steps": 2, "train.log_every": 1, "data.num_samples": 8, "data.cache_dir": str(tmp_path)}
    train(CONFIG_DIR / "tiny_vae.yaml", tmp_path / "vae",
          overrides={**common, "vae.align_to": str(sd35_dir)}, progress=False)
    meta = json.loads((tmp_path / "vae" / "final" / "config.json").read_text())
    assert meta["latent_space"].startswith("sd35:")
    assert meta["vae"]["scaling_factor"] == 1.0  # the encoder outputs SD3.5's scaled latents itself
    lines = [json.loads(x) for x in (tmp_path / "vae" / "metrics.jsonl").read_text().splitlines()]
    assert any("loss_align" in r for r in lines)

    train(CONFIG_DIR / "tiny_student.yaml", tmp_path / "student", progress=False,
          overrides={**common, "init.vae": str(tmp_path / "vae" / "final"), "init.teacher": str(sd35_dir),
                     "student.ratio": 1})
    lines = [json.loads(x) for x in (tmp_path / "student" / "metrics.jsonl").read_text().splitlines()]
    train_lines = [r for r in lines if r["kind"] == "train"]
    assert all(k in train_lines[0] for k in ("loss_feature", "loss_gan", "loss_fake", "loss_disc"))
    student, meta = load_student(tmp_path / "student" / "final")
    assert meta["teacher"]["kind"] == "sd35"
