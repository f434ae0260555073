"""The app's Hub pushes: which token they use, and the trained-model push of the Train tab.

The token is the signed-in Hugging Face user's (OAuth on a Space, where the app asks for write access) when there
is one, else ``HF_TOKEN`` / the token saved by ``hf auth login`` on the machine running the app.
"""

from __future__ import annotations

from pathlib import Path

from sparse_feedback.errors import InputError


def push_token(oauth_token=None) -> str | None:
    """The signed-in user's OAuth token, else None (``push_files`` then falls back to ``HF_TOKEN``).

    >>> push_token(None) is None
    True
    """
    return getattr(oauth_token, "token", None) or None


def push_trained_model(model_dir: str, repo_id: str, private: bool = False, token: str | None = None,
                       aggregation: str | None = None) -> str:
    """Push one trained reward-model folder (a row of the trained-models table) with its model card."""
    from sparse_feedback.reward.hub import push_reward_model
    from sparse_feedback.reward.runs import trained_models

    model_dir, repo_id = (model_dir or "").strip(), (repo_id or "").strip()
    if not model_dir or not repo_id:
        raise InputError("push", "name the model folder (from the table) and the Hub repo (OWNER/NAME)")
    known = {str(Path(d).resolve()) for d in trained_models()["model_dir"]}
    if str(Path(model_dir).resolve()) not in known:  # only what this app trained, never any path on the server
        raise InputError(model_dir, "is not one of the trained reward models in the table")
    return push_reward_model(model_dir, repo_id, private=private, token=token,
                             aggregation=aggregation).line("the reward model")
