"""Reward models on the best device: FlexAttention on CUDA (same scores as the dense mask, checked on the
CPU), SDPA on the CPU, and refusals for what the machine cannot do (GPU mocked)."""

import pytest
import torch
from reward_helpers import tiny_model, toy_rankings

from sparse_feedback.device import Device, DeviceError
from sparse_feedback.reward import attention
from sparse_feedback.reward.collate import Group, PackedCollator
from sparse_feedback.reward.config import RewardConfig
from sparse_feedback.reward.model import PackedRewardModel

GROUPS = [Group([3, 4, 5, 6, 7], [[8, 9], [10, 11, 12], [13]]), Group([14, 15], [[16] * 30, [17]]),
          Group(list(range(3, 40)), [[20] * 5, [21] * 12])]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("tiny") / "m")


@pytest.fixture
def eager_flex(monkeypatch):
    """transformers' flex path with torch's reference (uncompiled) kernel: same masks, no compile wait."""
    import transformers.integrations.flex_attention as integration
    from torch.nn.attention.flex_attention import flex_attention

    monkeypatch.setattr(integration, "compile_friendly_flex_attention",
                        lambda q, k, v, training=False, **kw: flex_attention(q, k, v, **kw))


@pytest.fixture
def gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)


def scores(tiny_dir, implementation, max_length=24):
    from sparse_feedback.hub import load_sequence_classifier

    torch.manual_seed(0)  # the same fresh score head every time
    model, _ = load_sequence_classifier(str(tiny_dir), attn_implementation=implementation)
    with torch.no_grad():
        pad = attention.BLOCK if implementation == "flex_attention" else None
        return PackedRewardModel(model.eval())(**PackedCollator(1, max_length, pad_to_multiple_of=pad)(GROUPS))


@pytest.mark.slow
def test_flex_attention_block_mask_scores_equal_the_dense_mask_path(tiny_dir, eager_flex):
    dense = scores(tiny_dir, "sdpa")
    assert scores(tiny_dir, "flex_attention").tolist() == pytest.approx(dense.tolist(), abs=1e-5)
    assert scores(tiny_dir, "eager").tolist() == pytest.approx(dense.tolist(), abs=1e-5)


@pytest.mark.slow
def test_compiled_flex_attention_kernel_agrees_on_the_cpu(tiny_dir):
    """torch.compile'd FlexAttention (what runs on a GPU, here compiled for the CPU)."""
    assert scores(tiny_dir, "flex_attention").tolist() == pytest.approx(scores(tiny_dir, "sdpa").tolist(), abs=1e-4)


def test_flex_rows_must_be_padded_to_whole_blocks():
    with pytest.raises(ValueError, match="multiple of 128"):
        attention.block_mask(torch.zeros(1, 24, dtype=torch.long))


def test_the_block_mask_skips_blocks_no_response_can_see():
    segments = torch.tensor([[0] * 128 + [1] * 128 + [2] * 128 + [3] * 128])
    mask = attention.block_mask(segments)
    blocks = (mask.to_dense()[0, 0] > 0).int().tolist()
    assert blocks == [[1, 0, 0, 0], [1, 1, 0, 0], [1, 0, 1, 0], [1, 0, 0, 1]]  # siblings' blocks never computed
    assert mask.sparsity() > 50


def test_auto_attention_is_flex_on_cuda_with_triton_and_sdpa_on_the_cpu(monkeypatch):
    assert attention.choose_attention("auto", "cpu") == "sdpa"
    monkeypatch.setattr(attention, "flex_available", lambda kind: True)
    assert attention.choose_attention("auto", "cuda") == "flex_attention"
    monkeypatch.setattr(attention, "flex_available", lambda kind: False)  # e.g. no triton
    assert attention.choose_attention("auto", "cuda") == "sdpa"
    with pytest.raises(ValueError, match="unknown attention"):
        attention.choose_attention("flash", "cpu")


def test_gpu_scoring_packs_more_per_prompt_in_bigger_batches_padded_to_flex_blocks(tiny_dir):
    from sparse_feedback.hub import load_sequence_classifier
    from sparse_feedback.reward.scoring import RewardModel

    classifier, tokenizer = load_sequence_classifier(str(tiny_dir), attn_implementation="flex_attention")
    on_gpu = RewardModel(PackedRewardModel(classifier), tokenizer, RewardConfig(), "cuda")
    assert (on_gpu.per_prompt, on_gpu.batch_size, on_gpu.collator.pad_to_multiple_of) == (32, 512, 128)
    classifier, tokenizer = load_sequence_classifier(str(tiny_dir), attn_implementation="sdpa")
    on_cpu = RewardModel(PackedRewardModel(classifier), tokenizer, RewardConfig(), "cpu")
    assert (on_cpu.per_prompt, on_cpu.batch_size, on_cpu.collator.pad_to_multiple_of) == (8, 16, None)


@pytest.fixture
def feedback(tmp_path):
    toy_rankings(8).to_csv(tmp_path / "r.csv", index=False)
    return tmp_path / "r.csv"


@pytest.mark.parametrize("options, match", [({"bf16": True}, "need a CUDA GPU"), ({"dtype": "float16"}, "need a CUDA GPU"),
                                            ({"load_in_8bit": True}, "8-bit"), ({"device": "cuda"}, "no CUDA GPU"),
                                            ({"attention": "flex_attention"}, "only on a CUDA GPU")])
def test_training_refuses_what_the_cpu_cannot_do_before_loading_anything(feedback, tmp_path, tiny_dir, options,
                                                                         match, monkeypatch):
    from sparse_feedback.reward.train import Trainer

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceError, match=match):
        Trainer(RewardConfig(protocol="rankings", train=str(feedback), output_dir=str(tmp_path / "o"),
                             model=str(tiny_dir), **options))


@pytest.mark.slow
def test_cli_refusal_is_one_line_and_exit_2(cli, feedback, tmp_path, tiny_dir):
    done = cli("train", "rankings", "--train", feedback, "--output-dir", tmp_path / "o", "--model", tiny_dir, "--bf16")
    assert done.returncode == 2 and "need a CUDA GPU" in done.stderr and "Traceback" not in done.stderr
    done = cli("score", "--model-dir", tmp_path, "--input", feedback, "--output", tmp_path / "s.csv", "--device", "cuda")
    assert done.returncode == 2


def test_8bit_on_a_gpu_needs_bitsandbytes_and_lora(gpu, tiny_dir, monkeypatch):
    import importlib.util

    from sparse_feedback.reward.model import build_classifier

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "bitsandbytes" else real(name, *a))
    config = RewardConfig(model=str(tiny_dir), load_in_8bit=True)
    with pytest.raises(DeviceError, match="pip install bitsandbytes"):
        build_classifier(config, Device("cuda", "bfloat16"))
    with pytest.raises(DeviceError, match="drop --full"):
        build_classifier(RewardConfig(model=str(tiny_dir), load_in_8bit=True, full=True), Device("cuda", "bfloat16"))
