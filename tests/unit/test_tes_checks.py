"""TES tasks checked before anything is written: paths, URLs, roots, binds,
resources, sizes; each refusal with its status and reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.catalogue.softwares import Container, Software
from service.core.errors import AccessDenied, InvalidParameter, TooLarge, WsError
from service.tes import paths
from service.tes.checks import CheckedTask, check_task, parse_task
from service.tes.plan import Bind, TaskPlan, apptainer_argv, apptainer_env, binds_for

SW = Software("sw_example", Container("c1", "singularity", "/images/sw.sif"))


def resolve(image: str) -> Software:
    if image not in ("debian", "sw_example"):
        raise InvalidParameter(f"unknown image {image!r}")
    return SW


def checked(doc: dict[str, Any], roots: tuple[str, ...] = ()) -> CheckedTask:
    return check_task(parse_task(doc), resolve, roots, 128 * 1024, "apptainer", 1024)


def task(**more: Any) -> dict[str, Any]:
    return {"executors": [{"image": "debian", "command": ["true"]}], **more}


@pytest.mark.parametrize("value,says", [
    ("data", "absolute"), ("/data/../etc", "plain"), ("/data//x", "plain"),
    ("/etc", "system path"), ("/usr/local/x", "system path"), ("/proc/1", "system path"),
    ("/sys", "system path"), ("/", "may not be /"), ("/data/a:b", "characters"),
    ("/data/a,b", "characters"), ("/data/a b", "characters"), ("/home/tes/x", "system"),
])
def test_container_paths_refused(value: str, says: str) -> None:
    with pytest.raises(InvalidParameter, match=says):
        paths.container_path("volumes[0]", value)


def test_container_paths_kept_plain() -> None:
    assert paths.container_path("x", "/vol/A/") == "/vol/A"
    assert paths.container_path("x", "/data/in-1.txt") == "/data/in-1.txt"


@pytest.mark.parametrize("url", ["s3://bucket/x", "gs://b/x", "https://example.org/x",
                                 "http://x/y", "ftp://x/y", "file://otherhost/x", "x"])
def test_other_schemes_are_400(url: str) -> None:
    with pytest.raises(InvalidParameter):
        paths.url_path("inputs[0].url", url)


def test_file_urls_and_bare_paths() -> None:
    assert paths.url_path("u", "file:///srv/a%20b") == "/srv/a b"
    assert paths.url_path("u", "file://localhost/srv/x") == "/srv/x"
    assert paths.url_path("u", "/srv/x") == "/srv/x"


def test_roots_are_checked_with_links_resolved(tmp_path: Path) -> None:
    root = tmp_path / "alice"
    root.mkdir()
    (root / "in.txt").write_text("x")
    (root / "escape").symlink_to(tmp_path)
    (tmp_path / "other").write_text("not alice's")
    assert paths.inside_roots("u", str(root / "in.txt"), (str(root),)) == str(root / "in.txt")
    with pytest.raises(AccessDenied, match="outside"):
        paths.inside_roots("u", str(root / "escape" / "other"), (str(root),))
    with pytest.raises(AccessDenied, match="outside"):
        paths.inside_roots("u", str(root) + "-not/x", (str(root),))  # a prefix is no root
    with pytest.raises(AccessDenied, match="no file:// roots"):
        paths.inside_roots("u", str(root / "in.txt"), ())


def test_a_whole_task_becomes_its_plan(tmp_path: Path) -> None:
    root = tmp_path / "alice"
    root.mkdir()
    (root / "in.txt").write_text("x")
    result = checked(task(
        inputs=[{"path": "/data/in/args.txt", "content": "4 5"},
                {"path": "/data/in/file.txt", "url": f"file://{root}/in.txt"}],
        outputs=[{"path": "/out/result.txt", "url": f"file://{root}/out/result.txt"}],
        volumes=["/shared/"],
        executors=[{"image": "debian", "command": ["sh", "-c", "x"], "env": {"A": "1,2"}},
                   {"image": "sw_example", "command": ["cat"], "stdout": "/shared/o"}]),
        roots=(str(root),))
    plan = result.plan
    assert result.contents == (("/data/in/args.txt", "4 5"),)
    assert plan.inputs[0].source == str(root / "in.txt")
    assert plan.outputs[0].dest == str(root / "out" / "result.txt")
    assert plan.binds == (Bind("/data/in/args.txt", True), Bind("/data/in/file.txt", True),
                          Bind("/out"), Bind("/shared"))
    argv = apptainer_argv(plan, plan.executors[0], "/runs/r")
    assert argv[:3] == ["apptainer", "--silent", "exec"] and "--containall" in argv
    assert argv[-4:] == ["/images/sw.sif", "sh", "-c", "x"]  # the argv, nothing added
    assert "/runs/r/work/root/out:/out" in argv
    assert "/runs/r/work/root/data/in/args.txt:/data/in/args.txt:ro" in argv
    assert apptainer_env(plan.executors[0]) == {"APPTAINERENV_A": "1,2"}
    assert TaskPlan.from_dict(plan.to_dict()) == plan


def test_binds_are_the_outermost_folders() -> None:
    binds = binds_for({"/vol", "/vol/a", "/out"}, {"/vol/in.txt", "/ref", "/ref/x"})
    assert binds == (Bind("/out"), Bind("/ref", True), Bind("/vol"))


def test_no_network_for_a_level_without_one() -> None:
    plan = checked(task()).plan
    from dataclasses import replace
    assert "--network" in apptainer_argv(replace(plan, network=False), plan.executors[0], "/r")


def test_resources_become_sbatch_options_and_unknown_parameters_are_dropped() -> None:
    result = checked(task(resources={"cpu_cores": 2, "ram_gb": 1.5, "preemptible": True,
                                     "backend_parameters": {"Partition": "debug",
                                                            "VmSize": "big"}}))
    assert result.sbatch == (("cpus-per-task", "2"), ("mem", "1536M"),
                             ("partition", "debug"))
    assert result.task.resources is not None
    assert result.task.resources.backend_parameters == {"Partition": "debug"}
    assert any("VmSize" in w for w in result.plan.warnings)


@pytest.mark.parametrize("doc,error,says", [
    (task(resources={"backend_parameters": {"VmSize": "x"},
                     "backend_parameters_strict": True}), InvalidParameter, "VmSize"),
    (task(resources={"backend_parameters": {"time": "forever"}}), InvalidParameter, "time"),
    (task(inputs=[{"path": "/data/x", "content": "x" * (128 * 1024 + 1)}]), TooLarge,
     "content"),
    (task(inputs=[{"path": "/data/x", "content": "x", "type": "DIRECTORY"}]),
     InvalidParameter, "DIRECTORY"),
    (task(inputs=[{"path": "/data/x"}]), InvalidParameter, "neither url nor content"),
    (task(inputs=[{"path": "/x", "content": "x"}]), InvalidParameter, "directly in /"),
    (task(inputs=[{"path": "/d/x", "content": "1"}, {"path": "/d/x", "content": "2"}]),
     InvalidParameter, "twice"),
    (task(inputs=[{"path": "/d/x", "content": "1"}], volumes=["/d/x/y"]),
     InvalidParameter, "is a file"),
    (task(outputs=[{"path": "/out/*.txt", "url": "file:///x"}]), AccessDenied, "no file://"),
    (task(outputs=[{"path": "/out/x", "url": "file:///x"}]), AccessDenied, "no file://"),
    (task(executors=[{"image": "debian", "command": ["x"], "env": {"A-B": "1"}}]),
     InvalidParameter, "variable name"),
    (task(executors=[{"image": "debian", "command": ["x"], "stdin": "/nowhere/x"}]),
     InvalidParameter, "stdin"),
    (task(executors=[{"image": "ubuntu", "command": ["x"]}]), InvalidParameter, "unknown"),
    (task(executors=[{"image": "debian", "command": ["a\x00b"]}]), InvalidParameter, "NUL"),
    ({"executors": []}, InvalidParameter, "tesTask"),
    ({"executors": [{"image": "debian", "command": []}]}, InvalidParameter, "tesTask"),
    ({"executors": [{"image": "debian", "command": "true"}]}, InvalidParameter, "tesTask"),
])
def test_refusals(doc: dict[str, Any], error: type[WsError], says: str) -> None:
    with pytest.raises(error, match=says):
        checked(doc)


def test_read_only_fields_sent_back_are_ignored() -> None:
    parsed = parse_task(task(id="x", state="COMPLETE", logs=[], creation_time="now"))
    assert parsed.executors[0].command == ["true"]


def test_wildcard_outputs(tmp_path: Path) -> None:
    roots = (str(tmp_path),)
    out = checked(task(outputs=[{"path": "/out/logs/*.log", "path_prefix": "/out",
                                 "url": f"file://{tmp_path}/logs"}]), roots).plan.outputs[0]
    assert (out.type, out.folder, out.prefix) == ("GLOB", "/out/logs", "/out")
    assert checked(task(outputs=[{"path": "/out/[!x]?/*", "path_prefix": "/out/",
                                  "url": f"file://{tmp_path}"}]), roots).plan.binds == (
        Bind("/out"),)
    for bad, says in (({"path": "/out/*.log"}, "path_prefix is required"),
                      ({"path": "/out/*.log", "path_prefix": "/data"}, "does not begin"),
                      ({"path": "/*.log", "path_prefix": "/"}, "may not be /"),
                      ({"path": "/etc/*", "path_prefix": "/etc"}, "system path")):
        with pytest.raises(InvalidParameter, match=says):
            checked(task(outputs=[{**bad, "url": f"file://{tmp_path}"}]), roots)


def test_wildcards_match_as_posix_says() -> None:
    from service.tes.runner import matches
    assert matches("/out/*.log", "/out/a.log")
    assert not matches("/out/*.log", "/out/sub/a.log")  # * matches no /
    assert matches("/out/[!x]?/*", "/out/ab/c") and not matches("/out/[!x]?/*", "/out/xb/c")
