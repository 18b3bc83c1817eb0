"""The SQL side from the command line and the package's edges: `ratecard sql`, `bill --engine`, the extras."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import sqlglot
from ratecard.cli.ratecard import AUTO_DUCKDB_BYTES, choose_engine
from ratecard.cli.ratecard import main as ratecard_main
from ratecard.records import read_usage

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "usage.csv"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ratecard.cli.ratecard", *args], capture_output=True, text=True)


def test_the_issue_command_prints_todays_bill_to_the_digit(tmp_path):
    """`ratecard bill emr-starrocks-ai-function examples/usage.csv --engine duckdb` prints the same bill."""
    for form in ("table", "json", "csv", "toml", "focus"):
        python = run("bill", "emr-starrocks-ai-function", str(EXAMPLE), "--format", form,
                     "--rejects", str(tmp_path / "p.csv"))
        duck = run("bill", "emr-starrocks-ai-function", str(EXAMPLE), "--format", form, "--engine", "duckdb",
                   "--rejects", str(tmp_path / "d.csv"))
        assert (duck.returncode, duck.stdout) == (python.returncode, python.stdout) == (1, python.stdout)
        assert (tmp_path / "d.csv").read_bytes() == (tmp_path / "p.csv").read_bytes()
        assert "307 records read = 300 billed + 7 rejected" in duck.stderr
    assert json.loads(python.stdout if form == "json" else run(
        "bill", "emr-starrocks-ai-function", str(EXAMPLE), "--format", "json", "--engine", "duckdb",
        "--rejects", str(tmp_path / "d.csv")).stdout)["totals"]["USD"]["billed"] == "21.820080509"


def test_the_printed_duckdb_query_bills_a_table_of_usage_columns():
    text = run("sql", "emr-starrocks-ai-function", "--table", "usage_records").stdout
    con = duckdb.connect()
    con.execute(f"CREATE TABLE usage_records AS SELECT * FROM read_csv('{EXAMPLE}', all_varchar = true)")
    rows = con.execute(text.rstrip().rstrip(";")).fetchall()
    import ratecard
    expected = ratecard.load("emr-starrocks-ai-function").bill(read_usage([EXAMPLE]))
    assert [(r[0], r[4], r[5], r[6], r[7], int(r[8]), r[10]) for r in rows] == \
        [(l.account, l.region, l.model, l.token_type, l.kind, l.quantity, l.amount) for l in expected.lines]
    rejects = con.execute(run("sql", "emr-starrocks-ai-function", "--table", "usage_records", "--rejects")
                          .stdout.rstrip().rstrip(";")).fetchall()
    assert sorted(r[4] for r in rejects) == sorted(r.code for r in expected.rejects)


@pytest.mark.parametrize("dialect", ["starrocks", "postgres", "snowflake", "bigquery", "databricks"])
def test_other_dialects_parse_back_in_their_own_dialect(dialect):
    """StarRocks is not run here (no server): its text must at least be StarRocks SQL that sqlglot reads back."""
    text = run("sql", "emr-serverless-spark-ai-center", "--dialect", dialect, "--currency", "CNY").stdout
    (statement,) = sqlglot.parse(text.rstrip().rstrip(";"), read=dialect)
    again = statement.sql(dialect=dialect)
    assert sqlglot.parse_one(again, read=dialect).sql(dialect=dialect) == again  # read back whole, to a fixed point
    assert statement.find(sqlglot.exp.Window) is not None
    assert "'0.00000096'" in text and "'0.0000024'" in text  # the CNY rates per token, inline
    assert "DOUBLE" not in text.upper() and "FLOAT" not in text.upper()


def test_a_view_wraps_the_query():
    text = run("sql", "emr-starrocks-ai-function", "--view", "bill_lines", "--dialect", "spark").stdout
    assert text.startswith("CREATE VIEW bill_lines AS")


@pytest.mark.parametrize("args, message", [
    (["--dialect", "nosuch"], "Unknown dialect 'nosuch'"),
    (["--currency", "EUR"], "has no prices in 'EUR'"),
    (["--dialect", "trino"], "sqlglot writes this query in trino with DOUBLE arithmetic, which is not exact"),
])
def test_sql_usage_errors_are_one_line_and_exit_2(args, message):
    result = run("sql", "emr-starrocks-ai-function", *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_auto_picks_duckdb_for_parquet_and_large_files_only(tmp_path):
    small = tmp_path / "small.csv"
    small.write_text(EXAMPLE.read_text())
    assert choose_engine("auto", read_usage([small])) == "python"
    large = tmp_path / "large.csv"
    with large.open("wb") as out:
        out.truncate(AUTO_DUCKDB_BYTES)
    assert choose_engine("auto", read_usage([large])) == "duckdb"
    assert choose_engine("auto", read_usage([tmp_path / "u.parquet"])) == "duckdb"
    assert choose_engine("auto", read_usage(["-"])) == "python"
    assert choose_engine("python", read_usage([large])) == "python"


def test_the_python_engine_names_the_engine_that_reads_parquet(tmp_path, capsys):
    (tmp_path / "u.parquet").write_bytes(b"PAR1")
    assert ratecard_main(["bill", "emr-starrocks-ai-function", str(tmp_path / "u.parquet"), "--engine", "python"]) == 2
    assert "Parquet usage is billed by the SQL engine" in capsys.readouterr().err


def test_a_file_that_is_not_parquet_is_a_usage_error_on_duckdb(tmp_path, capsys):
    (tmp_path / "u.parquet").write_text("not parquet")
    assert ratecard_main(["bill", "emr-starrocks-ai-function", str(tmp_path / "u.parquet"),
                          "--engine", "duckdb"]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_a_bad_header_stops_a_duckdb_bill_before_any_record(tmp_path, capsys):
    usage = tmp_path / "u.csv"
    usage.write_text("timestamp,account,region,model,input,output_tokens\n")
    assert ratecard_main(["bill", "emr-starrocks-ai-function", str(usage), "--engine", "duckdb"]) == 2
    assert "did you mean 'input_tokens'" in capsys.readouterr().err


def test_strict_stops_at_the_first_reject_on_duckdb_too(tmp_path, capsys):
    said = []
    for engine in ("python", "duckdb"):
        assert ratecard_main(["bill", "emr-starrocks-ai-function", str(EXAMPLE), "--engine", engine, "--strict",
                              "--out", str(tmp_path / "b.json")]) == 1
        said.append(capsys.readouterr().err)
        assert not (tmp_path / "b.json").exists()
    assert said[0] == said[1] and "usage.csv:22: timestamp '2026-05-01T10:30:00' has no UTC offset" in said[1]


def test_importing_ratecard_and_quoting_load_no_extra():
    code = ("import sys, ratecard; b = ratecard.load('emr-starrocks-ai-function'); "
            "b.quote(region='us-east-1', model='qwen-plus', tokens={'input': 1, 'output': 1}); "
            "b.bill([]); import ratecard.cli.ratecard; "
            "print(sorted(m for m in ('duckdb', 'sqlglot', 'pyarrow', 'pyspark') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("args, message", [
    (["--table", "my usage"], "--table 'my usage' is not a plain table name"),
    (["--table", "x;drop table y"], "is not a plain table name"),
    (["--view", "my view"], "--view 'my view' is not a plain table name"),
    (["--token-types", "input"], "is not a list of token types with input and output"),
    (["--token-types", ","], "is not a list of token types with input and output"),
])
def test_names_that_would_change_the_query_are_refused(args, message):
    """Found in review: a table name with a space billed another table (exit 0); --token-types input left
    output tokens off the bill; a quote in a name was an internal error."""
    result = run("sql", "emr-starrocks-ai-function", *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("limit, code, message", [
    ("banana", 2, "is not a size such as 512MB or 4GB"),
    ("1KB", 2, "DuckDB ran out of memory at its limit of 1KB"),
])
def test_a_memory_limit_duckdb_cannot_work_with_is_a_clear_error(tmp_path, limit, code, message):
    """Found in review: both were internal errors (exit 70)."""
    result = run("bill", "emr-starrocks-ai-function", str(EXAMPLE), "--engine", "duckdb", "--memory-limit", limit,
                 "--rejects", str(tmp_path / "r.csv"))
    assert result.returncode == code and message in result.stderr and "internal error" not in result.stderr


def test_a_bad_header_is_found_before_a_missing_file_on_both_engines(tmp_path):
    """Found in review: through the API, DuckDB opened the files in order and named the missing file; the Python
    engine checks every header first."""
    import ratecard
    from ratecard.sql import bill as sql_bill
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,account,region,model,input,output_tokens\n")
    book = ratecard.load("emr-starrocks-ai-function")
    paths = [tmp_path / "missing.csv", bad]
    said = []
    for run_bill in (lambda: book.bill(read_usage(paths)), lambda: sql_bill(book, paths)):
        with pytest.raises(ratecard.RatecardError) as raised:
            run_bill()
        said.append((raised.value.code, raised.value.message))
    assert said[0] == said[1] and "did you mean 'input_tokens'" in said[0][1]
