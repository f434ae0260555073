"""The training loop: accelerate (1 or N processes, CPU or GPU), packed length-grouped batches, resumable.

Only what is specific to reward models lives here; the loss is in ``losses``, batching in ``collate``.
Every optimizer step takes the exact mean loss over its global batch (all micro-batches on all
processes), so 2 processes with batch b match 1 process with batch 2b. Checkpoints hold only the
trainable weights, optimizer and scheduler; ``--resume`` replays the deterministic batch order from
the saved step. SIGTERM (the app's Stop) finishes the current step, checkpoints and exits cleanly.
"""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import signal
import time
import warnings
from contextlib import nullcontext
from pathlib import Path

from sparse_feedback.errors import InputError
from sparse_feedback.formats import check_output, claim_dir
from sparse_feedback.progress import Progress
from sparse_feedback.reward import memory
from sparse_feedback.reward.collate import PackedCollator, length_grouped_batches, packed_length, token_chunks
from sparse_feedback.reward.config import RewardConfig
from sparse_feedback.reward.runs import LOG_FILE, MODEL_KIND, RESULTS_FILE, read_log
from sparse_feedback.reward.data import load_feedback, make_groups, split_by_instruction, table_scores
from sparse_feedback.reward.losses import per_example_loss
from sparse_feedback.reward.metrics import evaluate

CHECKPOINTS = "checkpoints"
OTHER = {"ratings": "rankings", "rankings": "ratings"}
MIXED = {"float32": "no", "bfloat16": "bf16", "float16": "fp16"}  # accelerate's names for the compute dtype
CROSS_NAME = {"ratings": "ratings_rm_on_ranking_pairs", "rankings": "rankings_rm_on_rating_implied_pairs"}


class _Stop:
    """Set by SIGTERM; the loop checkpoints and stops at the end of the step."""

    requested = False

    @classmethod
    def install(cls):
        """Catch SIGTERM for this run; returns the previous handler (restored when the run ends)."""
        cls.requested = False
        try:
            return signal.signal(signal.SIGTERM, lambda *_: setattr(cls, "requested", True))
        except ValueError:  # not the main thread (e.g. inside a test runner thread)
            return None

    @classmethod
    def restore(cls, previous) -> None:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def checkpoints(output_dir) -> list[Path]:
    """Complete checkpoints, oldest first."""
    root = Path(output_dir) / CHECKPOINTS
    return sorted(p for p in root.glob("step-*") if (p / "state.json").exists()) if root.is_dir() else []


def _trackers(report_to: str) -> list[str]:
    if report_to == "none":
        return []
    module = {"tensorboard": "tensorboard", "wandb": "wandb"}[report_to]
    if importlib.util.find_spec(module) is None and not (report_to == "tensorboard"
                                                         and importlib.util.find_spec("tensorboardX")):
        warnings.warn(f"--report-to {report_to}: {module} is not installed; logging to log.jsonl only")
        return []
    return [report_to]


def _flatten(prefix: str, metrics: dict) -> dict:
    out = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            out.update(_flatten(f"{prefix}{key}_", value))
        elif isinstance(value, (int, float)) or value is None:
            out[f"{prefix}{key}"] = value
    return out


class Trainer:
    """One reward-model run; ``run()`` trains, evaluates and saves. ``callback(done, total, desc)`` for the app."""

    def __init__(self, config: RewardConfig, callback=None):
        import torch
        from accelerate import Accelerator
        from accelerate.utils import set_seed

        from sparse_feedback.device import DeviceError, resolve_device
        from sparse_feedback.reward.attention import BLOCK, choose_attention
        from sparse_feedback.reward.model import PackedRewardModel, build_classifier

        self.config, self.callback, self.torch = config, callback, torch
        self.device = resolve_device(config.device, "bfloat16" if config.bf16 else config.dtype, config.load_in_8bit)
        self.attention = choose_attention(config.attention, self.device.type)
        if self.attention == "flex_attention" and not self.device.is_cuda:
            raise DeviceError("--attention flex_attention trains only on a CUDA GPU (torch has no FlexAttention "
                              "backward on the CPU); use --attention sdpa")
        self.trackers = _trackers(config.report_to)
        # cpu=True without a GPU: a torchrun/accelerate multi-process launch then joins a gloo group on CPU
        self.acc = Accelerator(cpu=not self.device.is_cuda, mixed_precision=MIXED[self.device.dtype],
                               log_with=self.trackers or None, project_dir=config.output_dir)
        set_seed(config.seed)
        self.out = Path(config.output_dir)
        protocol = config.protocol

        table = load_feedback(protocol, config.train)
        if config.eval:
            self.train_table, self.eval_table = table, load_feedback(protocol, config.eval)
        else:
            self.train_table, self.eval_table = split_by_instruction(table, config.eval_split, config.seed)
        classifier, self.tokenizer = build_classifier(config, self.device, self.attention)
        pad = BLOCK if self.attention == "flex_attention" else None  # see attention.BLOCK
        self.collator = PackedCollator(self.tokenizer.pad_token_id, config.max_length, pad_to_multiple_of=pad)
        group = lambda t, p=protocol: make_groups(p, t, self.tokenizer, config.responses_per_prompt)  # noqa: E731
        self.train_groups, self.eval_groups = group(self.train_table), group(self.eval_table)
        self.cross = None
        if config.cross_eval:
            other = load_feedback(OTHER[protocol], config.cross_eval)
            other = other[~other["prompt"].isin(set(self.train_table["prompt"]))].reset_index(drop=True)
            self.cross = (OTHER[protocol], other, group(other, OTHER[protocol]))
        if not self.train_groups:
            raise InputError(config.train, "no training examples left (after dropping 'equal' and the eval split)")
        self.lengths = [packed_length(g, config.max_length) for g in self.train_groups]
        self._plans: dict[int, list[list[int]]] = {}

        self.world = self.acc.num_processes
        micro = math.ceil(len(self.train_groups) / (config.batch_size * self.world))
        self.steps_per_epoch = max(1, math.ceil(micro / config.grad_accum))
        self.total = config.max_steps if config.max_steps > 0 else math.ceil(config.epochs * self.steps_per_epoch)

        # Each micro-batch runs in passes of at most `budget` padded tokens, so a step's memory is bounded
        self.shape = memory.Shape.of(classifier.config, 2 if self.device.dtype != "float32" else 4)
        self.budget = config.max_batch_tokens or memory.default_budget(
            self.shape, self.device.type, memory.free_bytes(self.device.type, config.memory_limit_gb))
        self.loaded_rss = memory.rss()
        model = PackedRewardModel(classifier)
        self.params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(self.params, lr=config.lr, weight_decay=config.weight_decay)
        warmup = math.ceil(config.warmup_ratio * self.total)
        decay = max(1, self.total - warmup)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(  # not prepared: it must step once per step
            optimizer, lambda s: (s + 1) / (warmup + 1) if s < warmup else max(0.0, (self.total - s) / decay))
        self.model, self.optimizer = self.acc.prepare(model, optimizer)
        self.step = 0

    # ------------------------------------------------------------------ batches

    def _micro_batches(self, step: int) -> list[list[int]]:
        """This process's share of the micro-batches of optimizer step ``step`` (same on every run)."""
        epoch, within = divmod(step, self.steps_per_epoch)
        if epoch not in self._plans:
            self._plans = {epoch: length_grouped_batches(self.lengths, self.config.batch_size * self.world,
                                                         self.config.seed + epoch)}
        plan = self._plans[epoch]
        chosen = plan[within * self.config.grad_accum:(within + 1) * self.config.grad_accum] or plan[-1:]
        shares = []
        for batch in chosen:
            if len(batch) < self.world:  # a short last batch: every process needs at least one group
                batch = (batch * self.world)[:self.world]
            shares.append(batch[self.acc.process_index::self.world])
        return shares

    def _to_device(self, batch: dict) -> dict:
        return {k: v.to(self.acc.device) for k, v in batch.items()}

    # ------------------------------------------------------------------ steps

    def _passes(self, step: int) -> list[tuple[dict, bool]]:
        """This process's passes of step ``step``: (tensors, checkpointed) of at most ``budget`` padded tokens
        each; a group that alone exceeds the budget is checkpointed (and always with --gradient-checkpointing)."""
        passes = []
        for share in self._micro_batches(step):
            groups = [self.train_groups[i] for i in share]
            for chunk in token_chunks(groups, self.config.max_length, self.budget):
                batch = self.collator([groups[i] for i in chunk])
                passes.append((batch, self.config.gradient_checkpointing or batch["input_ids"].numel() > self.budget))
        return passes

    def check_memory(self, step: int, passes: list[tuple[dict, bool]]) -> None:
        """Refuse, in one line and before it runs, a step whose largest pass would not fit in the free memory."""
        rows, width, checkpointed = max(((*b["input_ids"].shape, c) for b, c in passes),
                                        key=lambda p: self.shape.micro_batch(*p))
        need = self.shape.micro_batch(rows, width, checkpointed)
        if not self.device.is_cuda:  # memory this process already holds from earlier passes is reused
            need -= max(0, memory.rss() - self.loaded_rss)
        cfg = self.config
        memory.check_fits(need, memory.free_bytes(self.device.type, cfg.memory_limit_gb),
                          f"step {step + 1}/{self.total} (a pass of {rows} rows x {width} tokens)",
                          f"lower --max-batch-tokens (now {self.budget}), --max-length (now {cfg.max_length}) or "
                          f"--responses-per-prompt (now {cfg.responses_per_prompt}), or add --gradient-checkpointing")

    def train_step(self, step: int) -> tuple[float, int, int, bool]:
        """One optimizer step; returns (global mean loss, global examples, local tokens, stop requested)."""
        from sparse_feedback.reward.model import set_checkpointing

        torch = self.torch
        passes = self._passes(step)
        self.check_memory(step, passes)
        batches = [batch for batch, _ in passes]
        per_example = "chosen" if self.config.protocol == "rankings" else "targets"  # pairs or rated responses
        local = sum(len(b[per_example]) for b in batches)
        counts = self.acc.reduce(torch.tensor([float(local), float(_Stop.requested)], device=self.acc.device),
                                 "sum")
        n_global = counts[0].item()
        loss_sum = torch.zeros((), device=self.acc.device)
        self.model.train()
        classifier = self.acc.unwrap_model(self.model).classifier
        for k, (batch, checkpointed) in enumerate(passes):
            sync = nullcontext() if k == len(batches) - 1 else self.acc.no_sync(self.model)
            set_checkpointing(classifier, checkpointed)
            batch = self._to_device(batch)
            with sync, self.acc.autocast():
                scores = self.model(**batch)
                losses = per_example_loss(self.config.protocol, scores, batch, self.config.margin)
                # DDP averages gradients over processes, so scale to the exact global mean
                self.acc.backward(losses.sum() * self.world / n_global)
            loss_sum += losses.detach().sum()
        if self.config.max_grad_norm > 0:
            self.acc.clip_grad_norm_(self.params, self.config.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.acc.reduce(loss_sum, "sum").item() / n_global
        tokens = sum(int(b["input_ids"].numel()) for b in batches)
        return loss, int(n_global), tokens, counts[1].item() > 0

    def scores(self, groups) -> list[float]:
        """Scores of every response of ``groups`` (in order), computed in shares across processes."""
        from accelerate.utils import gather_object

        from sparse_feedback.reward.model import score_groups

        model = self.acc.unwrap_model(self.model)
        model.eval()
        mine = list(range(self.acc.process_index, len(groups), self.world))
        with self.acc.autocast():
            flat = score_groups(model, [groups[i] for i in mine], self.collator, device=self.acc.device)
        per_group, start = [], 0
        for i in mine:
            n = len(groups[i].responses)
            per_group.append((i, flat[start:start + n]))
            start += n
        gathered = gather_object(per_group) if self.world > 1 else per_group
        return [s for _, scores in sorted(gathered, key=lambda item: item[0]) for s in scores]

    def _table_scores(self, protocol: str, table, groups):
        """Scores laid out like the table: rows (ratings) or chosen, rejected per pair (rankings)."""
        return table_scores(protocol, groups, self.scores(groups), len(table))

    def evaluate(self) -> dict:
        results = {}
        if len(self.eval_table):
            results["eval"] = evaluate(self.config.protocol, self.eval_table,
                                       self._table_scores(self.config.protocol, self.eval_table, self.eval_groups))
        if self.cross is not None and len(self.cross[1]):
            protocol, table, groups = self.cross
            metrics = evaluate(protocol, table, self._table_scores(protocol, table, groups))
            if protocol == "ratings":  # a rankings RM has no rating scale: only its ordering counts
                metrics = {"implied_pairs": metrics["implied_pairs"], "spearman": metrics["spearman"]}
            results["cross_protocol"] = {CROSS_NAME[self.config.protocol]: metrics}
        return results

    # ------------------------------------------------------------------ checkpoints and logs

    def _trainable_state(self) -> dict:
        model = self.acc.unwrap_model(self.model)
        return {n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad}

    def save_checkpoint(self) -> None:
        from safetensors.torch import save_file

        state = self._trainable_state()
        if self.acc.is_main_process:
            final = self.out / CHECKPOINTS / f"step-{self.step:07d}"
            tmp = final.with_name(final.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            try:
                save_file(state, str(tmp / "trainable.safetensors"))
                self.torch.save({"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                                 "rng": self.torch.get_rng_state()}, tmp / "optimizer.pt")
                (tmp / "state.json").write_text(json.dumps({"step": self.step, "total": self.total}))
            except OSError:  # a full disk: give back what the partial copy took; the last checkpoint stands
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            shutil.rmtree(final, ignore_errors=True)
            tmp.replace(final)
            for old in checkpoints(self.out)[:-max(1, self.config.save_total_limit)]:
                shutil.rmtree(old, ignore_errors=True)
        self.acc.wait_for_everyone()

    def load_checkpoint(self, path: Path) -> None:
        from safetensors.torch import load_file

        model = self.acc.unwrap_model(self.model)
        missing = set(load_file(str(path / "trainable.safetensors"))) - {n for n, _ in model.named_parameters()}
        if missing:
            raise RuntimeError(f"checkpoint {path} does not match this model ({sorted(missing)[:3]} ...)")
        model.load_state_dict(load_file(str(path / "trainable.safetensors")), strict=False)
        extra = self.torch.load(path / "optimizer.pt", weights_only=False)
        self.optimizer.load_state_dict(extra["optimizer"])
        self.scheduler.load_state_dict(extra["scheduler"])
        self.torch.set_rng_state(extra["rng"])
        self.step = json.loads((path / "state.json").read_text())["step"]

    def log(self, record: dict) -> None:
        if self.acc.is_main_process:
            with open(self.out / LOG_FILE, "a") as f:
                f.write(json.dumps(record) + "\n")
            if self.trackers:
                self.acc.log({k: v for k, v in record.items() if isinstance(v, (int, float))}, step=record["step"])

    def _start(self) -> None:
        """Resume from the last checkpoint (dropping later log lines), or start a fresh run."""
        found = checkpoints(self.out) if self.config.resume else []
        if self.acc.is_main_process:
            claim_dir(self.out, MODEL_KIND)
            if found:
                step = json.loads((found[-1] / "state.json").read_text())["step"]
                kept = [r for r in read_log(self.out) if r.get("step", 0) <= step]
                (self.out / LOG_FILE).write_text("".join(json.dumps(r) + "\n" for r in kept))
            else:
                if self.config.resume:
                    print(f"no checkpoint in {self.out}; starting from step 0")
                shutil.rmtree(self.out / CHECKPOINTS, ignore_errors=True)
                (self.out / LOG_FILE).write_text("")
        self.acc.wait_for_everyone()
        if found:
            self.load_checkpoint(found[-1])
        if self.trackers:
            self.acc.init_trackers("sparse_feedback_reward", config=self.config.to_dict())

    # ------------------------------------------------------------------ the run

    def run(self) -> dict:
        previous = _Stop.install()
        try:
            return self._run()
        finally:
            _Stop.restore(previous)

    def _run(self) -> dict:
        self._start()
        cfg, main = self.config, self.acc.is_main_process
        desc = f"train {cfg.protocol} RM"
        progress = Progress(self.total, desc, self.callback if main else None, disable=not main, unit="step")
        if self.step:
            progress.update(self.step)
        started, examples, tokens, stopped = time.perf_counter(), 0, 0, False
        try:  # the bar's line is ended even when a step is refused or fails
            while self.step < self.total and not stopped:
                loss, n, t, stopped = self.train_step(self.step)
                self.step += 1
                examples, tokens = examples + n, tokens + t
                elapsed = time.perf_counter() - started
                progress.update(1, loss=f"{loss:.4f}")
                if self.step % max(1, cfg.logging_steps) == 0 or self.step == self.total:
                    self.log({"step": self.step, "epoch": round(self.step / self.steps_per_epoch, 4), "loss": loss,
                              "lr": self.scheduler.get_last_lr()[0], "elapsed_s": round(elapsed, 3),
                              "examples_per_s": round(examples / elapsed, 3),
                              "tokens_per_s": round(tokens * self.world / elapsed, 1)})
                epoch_end = self.step % self.steps_per_epoch == 0
                if self.step < self.total and (epoch_end or (cfg.eval_steps and self.step % cfg.eval_steps == 0)):
                    self.log({"step": self.step, **_flatten("", self.evaluate())})
                periodic = cfg.save_steps and self.step % cfg.save_steps == 0
                if epoch_end or stopped or self.step == self.total or periodic:
                    self.save_checkpoint()
        finally:
            progress.close()
        if stopped:
            if main:
                print(f"stopped at step {self.step}/{self.total}; --resume continues from the checkpoint")
            return {"stopped": True, "step": self.step}
        return self.finish()

    def finish(self) -> dict:
        """Final evaluation; save the model (adapter + score head, or full), its config and eval_results.json."""
        metrics = self.evaluate()
        results = {"protocol": self.config.protocol, "model": self.config.model, "step": self.step,
                   "n_train": len(self.train_table), "n_eval": len(self.eval_table),
                   "n_cross": 0 if self.cross is None else len(self.cross[1]), **metrics}
        self.log({"step": self.step, **_flatten("", metrics), "final": True})
        if self.acc.is_main_process:
            from sparse_feedback.formats import write_json

            self.acc.unwrap_model(self.model).classifier.save_pretrained(self.out)
            self.tokenizer.save_pretrained(self.out)
            self.config.save(self.out)
            write_json(results, self.out / RESULTS_FILE)
        if self.trackers:
            self.acc.end_training()
        self.acc.wait_for_everyone()
        return results


def train(config: RewardConfig, callback=None) -> dict:
    """Train a reward model as ``config`` says; returns the eval results (also in eval_results.json).
    ``output_dir`` must be new, empty, or this project's earlier reward model (it is never wiped otherwise)."""
    check_output(config.output_dir, MODEL_KIND)
    return Trainer(config, callback).run()
