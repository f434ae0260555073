"""One user-error base class: every kind the user can fix is shown as one line by the app and the CLI."""

import gradio as gr
import pytest

from pages import guarded
from sparse_feedback.errors import InputError, SettingsError, UserError
from sparse_feedback.store import StoreError


@pytest.mark.parametrize("error", [InputError("a.csv", "bad", where="line 2"), StoreError("refused"),
                                   SettingsError("n must be between 1 and 64")])
def test_every_user_error_shares_the_base_class_and_the_app_shows_it_as_one_line(error):
    assert isinstance(error, UserError)

    def handler():
        raise error

    with pytest.raises(gr.Error) as shown:
        guarded(handler)()
    assert str(error) in str(shown.value) and "\n" not in str(error)


def test_the_cli_exits_2_with_one_line_on_a_refusal(capsys, monkeypatch):
    from sparse_feedback import cli

    def refuse(args):
        raise SettingsError("n must be between 1 and 64")

    parser = cli.build_parser()
    args = parser.parse_args(["pipeline", "--output-dir", "x"])
    args.func = refuse
    monkeypatch.setattr(cli, "build_parser", lambda: type("P", (), {"parse_args": lambda self, a: args})())
    assert cli.main([]) == 2
    assert capsys.readouterr().err.strip() == "error: n must be between 1 and 64"
