"""``%datalake`` / ``%%datalake`` in a real IPython shell, over the stub channel."""

from __future__ import annotations

import pytest
from datalake_stub import StubChannel
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from jupyterlab_datalake.errors import DatalakeError
from jupyterlab_datalake.kernel.client import Datalake
from jupyterlab_datalake.kernel.magics import DatalakeMagics
from jupyterlab_datalake.kernel.results import DidList, DidPaths, Staging


@pytest.fixture
def stub() -> StubChannel:
    return StubChannel()


@pytest.fixture
def ip(stub):
    shell = InteractiveShell.instance()
    client = Datalake(stub)
    client.poll_interval = (0.001, 0.002)
    shell.register_magics(DatalakeMagics(shell, client))
    yield shell
    for name in ("lofar_obs_sb000", "lofar_obs_sb001", "sb001", "found", "obs", "p", "n"):
        shell.user_ns.pop(name, None)


def run(ip, line: str):
    return ip.run_line_magic("datalake", line)


def test_load_ext_registers_magics():
    shell = InteractiveShell.instance()
    shell.extension_manager.load_extension("jupyterlab_datalake")
    assert shell.find_line_magic("datalake") is not None
    assert shell.find_cell_magic("datalake") is not None


def test_help_lists_every_verb(ip, capsys):
    ip.run_cell("%datalake?")
    out = capsys.readouterr().out
    for usage in (
        "%datalake ls",
        "%datalake stage",
        "--lifetime",
        "--source-qos",
        "--start-in",
        "%datalake wait",
        "--timeout",
        "%datalake paths",
        "%datalake extend",
        "%datalake release",
        "%datalake need",
        "--as",
        "-o NAME",
    ):
        assert usage in out, usage


def test_no_verb_prints_usage(ip, capsys):
    assert run(ip, "") is None
    assert "VERB one of ls, info" in capsys.readouterr().out


def test_unknown_verb_and_bad_options_are_usage_errors(ip):
    with pytest.raises(UsageError, match="Unknown verb 'lst'"):
        run(ip, "lst demo:*")
    with pytest.raises(UsageError):
        run(ip, "stage")
    with pytest.raises(UsageError):
        run(ip, "ls demo:* --type blob")
    with pytest.raises(UsageError, match="cell magic"):
        ip.run_cell_magic("datalake", "ls demo:*", "x = 1")
    for name in ("1x", "__builtins__", "Out", "_i3", "len"):
        with pytest.raises(UsageError, match="variable name"):
            run(ip, f"qos -o {name}")


def test_ls_returns_table_and_filters(ip, stub):
    found = run(ip, "ls demo:lofar* -f datatype=RAW -f run_number.gt=3 -n 1")
    assert isinstance(found, DidList) and found.dids == ["demo:lofar-obs-sb000"]


def test_output_option_stores_without_display(ip, capsys):
    assert run(ip, "ls demo:* -o found") is None
    assert ip.user_ns["found"].dids == ["demo:lofar-obs-sb000", "demo:lofar-obs-sb001"]
    assert capsys.readouterr().out == ""


def test_info_qos_files(ip):
    assert run(ip, "info demo:lofar-obs-sb000")["length"] == 4
    assert run(ip, "qos").names == ["FAST", "CHEAP-ANALYSIS"]
    assert len(run(ip, "files demo:lofar-obs-sb000")) == 4


def test_stage_wait_paths_round_trip(ip, stub, capsys):
    staging = run(ip, "stage demo:lofar-obs-sb000 --qos FAST --lifetime 7d --start-in 2h --wait")
    assert isinstance(staging, Staging) and staging.state == "OK"
    rule = stub.rules[staging.rule_ids[0]]
    assert (rule["lifetime"], rule["start_in"]) == (604800, 7200)
    # Terminal: one line rewritten in place, ending in a newline.
    out = capsys.readouterr().out
    assert out.count("\r") >= 2 and out.endswith("\n") and out.count("\n") == 1
    assert "4/4 files" in out
    ip.run_cell("p = %datalake paths demo:lofar-obs-sb000")
    assert isinstance(ip.user_ns["p"], DidPaths) and len(ip.user_ns["p"]) == 4


def test_status_extend_release(ip, stub):
    run(ip, "stage demo:lofar-obs-sb000 demo:lofar-obs-sb001 -q CHEAP-ANALYSIS")
    assert len(run(ip, "status")) == 2
    assert run(ip, "status demo:lofar-obs-sb001").dids == ["demo:lofar-obs-sb001"]
    rule = next(iter(stub.rules))
    assert run(ip, f"extend {rule} --lifetime 1d").rules[0]["lifetime"] == 86400
    assert run(ip, "wait demo:lofar-obs-sb000 --timeout 10s").state == "OK"
    assert (
        run(ip, "release demo:lofar-obs-sb000 demo:lofar-obs-sb001") == list(stub.rules)
        or not stub.rules
    )
    assert not stub.rules


@pytest.mark.parametrize(
    ("line", "sentence"),
    [
        (
            "stage demo:lofar-obs-sb000 --qos GOLD",
            "Unknown QoS class 'GOLD': use one of FAST, CHEAP-ANALYSIS.",
        ),
        ("info demo:nope", "demo:nope does not exist in this data lake: check the name."),
        (
            "paths demo:lofar-obs-sb001",
            "stage them with %datalake stage demo:lofar-obs-sb001 --qos CLASS",
        ),
        (
            "stage demo:lofar-obs-sb000 --lifetime forever",
            "The lifetime 'forever' is not understood",
        ),
        ("wait demo:lofar-obs-sb001", "You have no staging of demo:lofar-obs-sb001"),
    ],
)
def test_errors_fail_the_cell_showing_only_the_sentence(ip, capsys, line, sentence):
    result = ip.run_cell(f"%datalake {line}")
    captured = capsys.readouterr()
    # The cell fails (a batch run stops here), and what is shown is the sentence alone.
    assert not result.success and isinstance(result.error_in_exec, DatalakeError)
    assert sentence in captured.out + captured.err
    assert "Traceback" not in captured.err + captured.out


def test_rucio_unreachable(ip, stub):
    stub.down = True
    with pytest.raises(DatalakeError, match="not reachable"):
        run(ip, "qos")


def test_wait_timeout_message(ip, stub, capsys):
    stub.step = 0
    run(ip, "stage demo:lofar-obs-sb000")
    with pytest.raises(DatalakeError, match="Still staging after 1s"):
        run(ip, "wait demo:lofar-obs-sb000 --timeout 1")


def test_cell_magic_need_binds_and_runs_body(ip, stub, capsys):
    run(ip, "stage demo:lofar-obs-sb000 --wait")
    stub.calls.clear()
    ip.run_cell_magic(
        "datalake",
        "need demo:lofar-obs-sb000 demo:lofar-obs-sb001 --qos FAST",
        "n = len(lofar_obs_sb001)",
    )
    assert ip.user_ns["n"] == 4
    assert ip.user_ns["lofar_obs_sb000"].did == "demo:lofar-obs-sb000"
    assert stub.calls.count("stage") == 1  # only the missing one
    assert "lofar_obs_sb001 = 4 paths of demo:lofar-obs-sb001" in capsys.readouterr().out


def test_cell_magic_need_names_variables_like_the_panel(ip):
    ip.run_cell("%%datalake need demo:lofar-obs-sb001 --naming short\nn = sb001.did")
    assert ip.user_ns["n"] == "demo:lofar-obs-sb001"


def test_cell_magic_need_as_name(ip):
    ip.run_cell("%%datalake need demo:lofar-obs-sb001 --as obs\nn = obs.did")
    assert ip.user_ns["n"] == "demo:lofar-obs-sb001"
    with pytest.raises(UsageError, match="exactly one DID"):
        ip.run_cell_magic(
            "datalake", "need demo:lofar-obs-sb000 demo:lofar-obs-sb001 --as obs", "pass"
        )
    for name in ("class", "__builtins__", "print", "_1", "In"):
        with pytest.raises(UsageError, match="not a valid Python variable name"):
            ip.run_cell_magic("datalake", f"need demo:lofar-obs-sb000 --as {name}", "pass")


def test_cell_magic_need_fails_when_its_body_fails(ip):
    result = ip.run_cell("%%datalake need demo:lofar-obs-sb000\n1 / 0")
    assert not result.success and isinstance(result.error_in_exec, ZeroDivisionError)


def test_cell_magic_need_refuses_two_dids_for_one_variable(ip):
    result = ip.run_cell("%%datalake need a:lofar-obs-sb000 b:lofar-obs-sb000\npass")
    assert not result.success and "same variable" in str(result.error_in_exec)


def test_cell_magic_need_error_skips_body(ip):
    with pytest.raises(DatalakeError, match="does not exist"):
        ip.run_cell_magic("datalake", "need demo:nope", "n = 1")
    assert "n" not in ip.user_ns


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('ls "demo:lofar', "UsageError: %datalake ls: No closing quotation; check the quotes"),
        (
            "stage demo:lofar-obs-sb000 --lifetime 1" + "0" * 400 + "d",
            "DatalakeError: The lifetime",
        ),
        ("stage demo:lofar-obs-sb000 --lifetime nan", "DatalakeError: The lifetime 'nan'"),
        ("stage demo:lofar-obs-sb000 --start-in inf", "DatalakeError: The start delay 'inf'"),
        ("wait demo:lofar-obs-sb000 --timeout " + "9" * 400, "DatalakeError: The timeout"),
        ("wait demo:lofar-obs-sb000 --timeout -5", "DatalakeError: The timeout '-5'"),
        ("ls demo:* -n 1e5", "UsageError"),
    ],
)
def test_mistakes_in_a_line_are_one_sentence(ip, capsys, line, says):
    result = ip.run_cell(f"%datalake {line}")
    out = capsys.readouterr()
    shown = out.out + out.err
    assert result.error_in_exec is not None or result.error_before_exec is not None
    assert says in shown
    assert "Traceback" not in shown and "----> " not in shown


def test_filter_values_that_are_no_finite_number_stay_text(ip, stub):
    run(ip, "ls demo:* -f run_number=1e999 -f note=nan -f n=3 -f x=2.5")
    assert stub.last_filters == {"run_number": "1e999", "note": "nan", "n": 3, "x": 2.5}


def test_upload_sends_absolute_paths_and_shows_each_file(ip, stub, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    up = run(ip, "upload out.h5 --to user.alice --qos FAST --dataset user.alice:run7")
    again = run(ip, "upload out.h5 --to user.alice --qos FAST")

    assert stub.last_upload["paths"] == [str(tmp_path / "out.h5")]
    assert stub.last_upload["dataset"] is None  # the second call named none
    assert up.dids == ["user.alice:out.h5"] and up[0]["state"] == "UPLOADED"
    assert again[0]["state"] == "EXISTS"
    assert "already there" in ip.display_formatter.format(again)[0]["text/plain"]


def test_upload_without_a_target_is_a_usage_error(ip):
    with pytest.raises(UsageError, match="--to"):
        run(ip, "upload out.h5")


def test_verify_names_the_mismatching_file_and_reports_it(ip, stub):
    stub.corrupted.add("demo:lofar-obs-sb000.f2")

    checked = run(ip, "verify demo:lofar-obs-sb000")
    reported = run(ip, "verify demo:lofar-obs-sb000 --report")

    assert [c["did"] for c in checked.mismatches] == ["demo:lofar-obs-sb000.f2"]
    assert checked.mismatches[0]["expected"] != checked.mismatches[0]["found"]
    assert not checked.mismatches[0]["reported"] and reported.mismatches[0]["reported"]
    assert stub.reported == {"demo:lofar-obs-sb000.f2"}
    assert "1 do not match" in ip.display_formatter.format(checked)[0]["text/plain"]


def test_paths_verify_refuses_corrupted_copies(ip, stub):
    run(ip, "stage demo:lofar-obs-sb000 --qos FAST")
    stub.complete("demo:lofar-obs-sb000")
    assert len(run(ip, "paths demo:lofar-obs-sb000 --verify")) == 4
    stub.corrupted.add("demo:lofar-obs-sb000.f1")

    with pytest.raises(DatalakeError) as corrupted:
        run(ip, "paths demo:lofar-obs-sb000 --verify")

    assert corrupted.value.reason == "CORRUPTED"
    assert "%datalake verify demo:lofar-obs-sb000 --report" in corrupted.value.message


def test_a_copy_rucio_keeps_no_checksum_for_is_said_and_not_called_corrupted(ip, stub):
    run(ip, "stage demo:lofar-obs-sb000 --qos FAST")
    stub.complete("demo:lofar-obs-sb000")
    stub.unchecked.add("demo:lofar-obs-sb000.f1")

    checked = run(ip, "verify demo:lofar-obs-sb000")
    paths = run(ip, "paths demo:lofar-obs-sb000 --verify")

    assert checked.mismatches == [] and [c["did"] for c in checked.unchecked] == [
        "demo:lofar-obs-sb000.f1"
    ]
    caption = ip.display_formatter.format(checked)[0]["text/plain"]
    assert "3 local copies of demo:lofar-obs-sb000 checked: all match" in caption
    assert "1 could not be checked: Rucio keeps no adler32" in caption
    assert len(paths) == 4  # not refused as corrupted


def test_move_with_wait_switches_a_bound_path_list(ip, stub):
    run(ip, "stage demo:lofar-obs-sb000 --qos FAST")
    stub.complete("demo:lofar-obs-sb000")
    ip.run_cell("p = %datalake paths demo:lofar-obs-sb000")
    assert all("/HUB-FAST/" in path for path in ip.user_ns["p"])

    moved = run(ip, "move demo:lofar-obs-sb000 --qos CHEAP-ANALYSIS --wait")

    assert moved.state == "OK" and moved.expression == "QOS=CHEAP-ANALYSIS&site=HUB"
    assert all("/HUB-CHEAP/" in path for path in ip.user_ns["p"]) and len(ip.user_ns["p"]) == 4
    assert [r["qos"] for r in stub.rules.values()] == ["CHEAP-ANALYSIS"]


def test_status_says_why_a_staging_stopped(ip, stub, capsys):
    # Given: a staging Rucio stopped, with the shim's reason
    run(ip, "stage demo:lofar-obs-sb001")
    (rule,) = stub.rules.values()
    reason = "over your quota on HUB-FAST (needs 21.0 TB, 10.0 TB left)"
    rule.update(state="SUSPENDED", files_replicating=0, error=reason)
    capsys.readouterr()
    # When
    ip.run_cell("%datalake status")
    # Then: the state and the reason are on screen
    out = capsys.readouterr().out
    assert "SUSPENDED" in out and reason in out


def test_every_verb_asks_the_instance_named_by_instance(ip, stub):
    run(ip, "stage demo:lofar-obs-sb000 -q FAST --instance testbed-x509 --wait")
    ip.run_cell("p = %datalake paths demo:lofar-obs-sb000 --instance testbed-x509")
    run(ip, "status -i testbed-x509")
    run(ip, "ls demo:lofar-* --instance testbed-x509")
    assert {instance for _, instance in stub.asked} == {"testbed-x509"}
    assert {"stage", "paths", "list_stagings", "search"} <= {verb for verb, _ in stub.asked}
