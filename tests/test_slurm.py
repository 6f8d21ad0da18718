"""The workflow on a real SLURM cluster, brought up on this machine for the test.

munged, slurmctld and slurmd run on 127.0.0.1 with private ports, sockets and state in a
temporary folder; the node has a GPU the scheduler believes in (gres `File=/dev/null`) and two
partitions, `cpu` (the default) and `gpu`. The shrunk demo runs through
`--workflow-profile profiles/slurm`, and the training job is requeued after its first checkpoint,
as pre-emption does. SLURM's own job records (kept for MinJobAge) then show that training went
through sbatch with a GPU request to the GPU partition, started twice and resumed from its
checkpoint, and that every other step ran on the CPU partition without a GPU. Facts behind the
set-up: shared/notes/slurm-on-one-machine.md.

Debian's SLURM packages are installed when missing (root and apt-get needed, else the test is
skipped). The executor plugin is installed into a side folder put on PYTHONPATH for this test
only: with the plugin importable and no slurmctld, every snakemake command is ~9 s slower.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO, SHRUNK_DEMO

PLUGINS = [
    "snakemake-executor-plugin-slurm==2.8.0",
    "snakemake-executor-plugin-slurm-jobstep==0.6.1",
]
PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
PROFILE = REPO / "profiles" / "slurm"
SNAKEMAKE_LIMIT_S = 420

# Seconds of training, not minutes: this test is about where jobs run.
SLURM_DEMO = SHRUNK_DEMO | {
    "data": {"synthetic": {"train_frames": 400, "test_frames": 50}},
    # three short stretches of 5 steps: the test pre-empts training after the first one
    "train": SHRUNK_DEMO["train"] | {"steps": 15, "eval_every": 5, "patience": None},
    "synthetic_movies": {"demo_walk": {"frames": 30, "seed": 7, "fps": 30}},
    "evaluate": {"tta": False},
    "predict": {"tta": False},
}
# Command-line flags override the profile: only what makes a test fast, never the resources.
TEST_SPEED = ["--slurm-init-seconds-before-status-checks", "10", "--latency-wait", "5"]


# --- the profile, statically ------------------------------------------------------------


def profile() -> dict:
    return yaml.safe_load((PROFILE / "config.yaml").read_text())


def test_profile_asks_a_gpu_for_training_only_and_leaves_site_values_to_the_site():
    from test_envs import command_rules

    settings = profile()
    assert settings["executor"] == "slurm"
    resources = settings["set-resources"]
    assert resources["train"]["gpu"] == 1
    assert {
        name
        for name, res in resources.items()
        if "gpu" in res or "gpu_model" in res or "gpu" in str(res.get("gres", ""))
    } == {"train", "learning_curve_train", "pretrain"}
    for name, res in resources.items():
        assert "gpu" not in str(res.get("slurm_extra", "")), (
            f"{name}: GPU flags do not go in slurm_extra"
        )
        assert "slurm_partition" not in res and "slurm_account" not in res, (
            f"{name}: partitions and accounts are site values (docs/slurm.md)"
        )
    assert "default-resources" not in settings, (
        "a workflow profile's default-resources would replace the site's (account, partition)"
    )
    # every step submitted to SLURM says what it needs; tiny steps stay local
    submitted = {r.name for r in command_rules() if not r.local}
    assert not submitted - set(resources), (
        f"submitted to SLURM without set-resources: {submitted - set(resources)}"
    )
    assert not set(resources) - submitted, (
        f"set-resources for rules that run locally or not at all: {set(resources) - submitted}"
    )
    for name in submitted:
        assert {"mem_mb", "runtime", "cpus_per_task"} <= set(resources[name]), name
    assert {"summary", "split", "label_reference", "download_published"} <= {
        r.name for r in command_rules() if r.local
    }
    assert settings["slurm-status-command"] == "squeue"


# --- a cluster on this machine ----------------------------------------------------------


def _missing_binaries() -> list[str]:
    return [
        b
        for b in ("munged", "slurmctld", "slurmd", "sbatch", "scontrol")
        if shutil.which(b) is None
    ]


def ensure_slurm_installed() -> None:
    if not _missing_binaries():
        return
    if os.geteuid() != 0:
        pytest.skip(f"SLURM is not installed ({_missing_binaries()}) and installing it needs root")
    if shutil.which("apt-get") is None:
        pytest.skip(f"SLURM is not installed ({_missing_binaries()}) and there is no apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for attempt in range(3):  # mirrors are sometimes briefly unreachable
        update = subprocess.run(
            ["apt-get", "update", "-q"], env=env, capture_output=True, text=True
        )
        install = subprocess.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES],
            env=env,
            capture_output=True,
            text=True,
        )
        if install.returncode == 0 and not _missing_binaries():
            return
        time.sleep(5 * (attempt + 1))
    pytest.fail(
        f"apt-get could not install {PACKAGES}:\n{update.stderr[-2000:]}\n{install.stderr[-3000:]}"
    )


def plugin_path(cache_dir: Path) -> str | None:
    """A folder to put on PYTHONPATH for the executor plugin (None: already importable)."""
    probe = [
        sys.executable,
        "-c",
        "import snakemake_executor_plugin_slurm, snakemake_executor_plugin_slurm_jobstep",
    ]
    if subprocess.run(probe, capture_output=True).returncode == 0:
        return None
    target = cache_dir / "slurm-plugin"
    env = dict(os.environ, PYTHONPATH=str(target))
    if subprocess.run(probe, capture_output=True, env=env).returncode != 0:
        # --no-deps: what it needs (snakemake's interfaces, pandas, numpy...) is installed
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--upgrade",
                "--target",
                str(target),
                *PLUGINS,
            ],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, f"pip could not install {PLUGINS}:\n{result.stderr[-3000:]}"
        assert subprocess.run(probe, capture_output=True, env=env).returncode == 0
    return str(target)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """munged + slurmctld + slurmd on 127.0.0.1, everything under one folder."""

    def __init__(self, root: Path):
        self.root = root
        self.host = socket.gethostname().split(".")[0]
        self.node = "dtnode"
        self.cpus = max(
            4, os.cpu_count() or 4
        )  # claimed (config_overrides): small jobs run side by side
        self.env = dict(os.environ, SLURM_CONF=str(root / "slurm.conf"))
        self.pidfiles = {name: root / f"{name}.pid" for name in ("munged", "slurmctld", "slurmd")}

    def write_config(self) -> None:
        r = self.root
        (r / "state").mkdir()
        (r / "spool").mkdir()
        ctld_port, slurmd_port = free_port(), free_port()
        while slurmd_port == ctld_port:
            slurmd_port = free_port()
        conf = f"""\
ClusterName=dtest
SlurmctldHost={self.host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={r}/munge.socket
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={self.pidfiles["slurmctld"]}
SlurmdPidFile={self.pidfiles["slurmd"]}
SlurmctldLogFile={r}/slurmctld.log
SlurmdLogFile={r}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# The node declares the memory the profile's requests need, whatever this machine has.
SlurmdParameters=config_overrides
DefMemPerCPU=1000
MailProg=/bin/true
ReturnToService=2
# Finished jobs stay visible to squeue (the profile's status command) and to this test.
MinJobAge=600
SchedulerParameters=sched_interval=1
GresTypes=gpu
NodeName={self.node} NodeAddr=127.0.0.1 NodeHostname={self.host} CPUs={self.cpus} RealMemory=65536 Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes={self.node} Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes={self.node} MaxTime=INFINITE State=UP
"""
        (r / "slurm.conf").write_text(conf)
        # A GPU the scheduler believes in: a count-only gres makes the node INVAL.
        (r / "gres.conf").write_text(f"NodeName={self.node} Name=gpu File=/dev/null\n")
        # The jobstep plugin runs each job's command through `srun` with the SLURM_* variables
        # removed, SLURM_CONF included: real clusters keep slurm.conf where srun looks by
        # default (or serve it configless); this private one is found through a shim.
        (r / "bin").mkdir()
        srun = shutil.which("srun")
        (r / "bin" / "srun").write_text(f'#!/bin/sh\nSLURM_CONF={r}/slurm.conf exec {srun} "$@"\n')
        (r / "bin" / "srun").chmod(0o755)
        self.env["PATH"] = f"{r / 'bin'}{os.pathsep}{self.env['PATH']}"
        # What a site would give the executor plugin to pick partitions (docs/slurm.md).
        (r / "partitions.yaml").write_text(
            yaml.safe_dump(
                {
                    "partitions": {
                        "cpu": {"max_threads": self.cpus},
                        "gpu": {"max_gpu": 1, "max_threads": self.cpus},
                    }
                }
            )
        )

    def start(self) -> None:
        r = self.root
        key = r / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        self._daemon(
            [
                "munged",
                f"--socket={r}/munge.socket",
                f"--key-file={key}",
                f"--pid-file={self.pidfiles['munged']}",
                f"--log-file={r}/munged.log",
                f"--seed-file={r}/munged.seed",
            ],
            "munged",
        )
        self._daemon(["slurmctld"], "slurmctld")
        self._daemon(["slurmd", "-N", self.node], "slurmd")
        deadline = time.monotonic() + 60
        while True:
            for name, pidfile in self.pidfiles.items():
                assert _alive(int(pidfile.read_text().split()[0])), f"{name} died\n{self.logs()}"
            state = self.run("sinfo", "-h", "-n", self.node, "-o", "%T", check=False).stdout.split()
            if state and all(s == "idle" for s in state):
                return
            assert time.monotonic() < deadline, f"node not idle after 60 s: {state}\n{self.logs()}"
            time.sleep(0.5)

    def _daemon(self, cmd: list[str], name: str) -> None:
        result = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"{name} did not start: {result.stderr}\n{self.logs()}"
        deadline = time.monotonic() + 20
        while not self.pidfiles[name].exists():
            assert time.monotonic() < deadline, f"{name} wrote no pid file\n{self.logs()}"
            time.sleep(0.1)

    def run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=60)
        assert not check or result.returncode == 0, f"{' '.join(cmd)}: {result.stderr}"
        return result

    def jobs(self) -> list[dict[str, str]]:
        """Every job slurmctld still remembers, as `scontrol show job -d` fields."""
        out = self.run("scontrol", "show", "job", "-d", "-o").stdout
        records = []
        for line in out.splitlines():
            if line.strip() and not line.startswith("No jobs"):
                records.append(dict(re.findall(r"(\w[\w:/]*)=(\S*)", line)))
        return records

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(self.root.glob("*.log"))
        )

    def stop(self) -> None:
        """Cancel what is left, then stop the daemons by the pids they wrote, newest first."""
        if self.pidfiles["slurmctld"].exists():
            self.run("scancel", "--partition=cpu,gpu", check=False)
            deadline = time.monotonic() + 15
            while (
                time.monotonic() < deadline
                and self.run("squeue", "-h", "-t", "PD,R,CG,S", check=False).stdout.strip()
            ):
                time.sleep(0.5)
        for name in ("slurmd", "slurmctld", "munged"):
            pidfile = self.pidfiles[name]
            try:
                pid = int(pidfile.read_text().split()[0])
            except (FileNotFoundError, ValueError, IndexError):
                continue
            for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    break
                deadline = time.monotonic() + wait
                while time.monotonic() < deadline and _alive(pid):
                    time.sleep(0.1)
                if not _alive(pid):
                    break


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (our own exited child) counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


@pytest.fixture(scope="module")
def slurm_cluster(request):
    ensure_slurm_installed()
    cache = getattr(request.config, "cache", None)  # none with -p no:cacheprovider
    plugin = plugin_path(
        Path(cache.mkdir("direction-tagger")) if cache else Path(tempfile.mkdtemp())
    )
    # munged wants its socket's folders searchable by all: not pytest's private tmp folders
    root = Path(tempfile.mkdtemp(prefix="dt-slurm-", dir="/tmp"))
    root.chmod(0o755)
    cluster = Cluster(root)
    if plugin:
        cluster.env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [plugin, os.environ.get("PYTHONPATH")])
        )
    try:
        cluster.write_config()
        cluster.start()
        yield cluster
    finally:
        cluster.stop()  # failing assertions above carry the daemons' logs
        shutil.rmtree(root, ignore_errors=True)


# --- the workflow on it -----------------------------------------------------------------


def start_snakemake_on_slurm(
    cluster: Cluster, workdir: Path, *args: str, configs=()
) -> subprocess.Popen:
    """conftest.run_snakemake, in the background and wrapped in `timeout -s INT`: SIGINT (not
    SIGTERM, not SIGKILL) makes a waiting Snakemake cancel its SLURM jobs and exit."""
    configfiles = [str(REPO / "config" / "demo.yaml")]
    for k, extra in enumerate(configs):
        path = workdir / f"override_{k}.yaml"
        path.write_text(yaml.safe_dump(extra))
        configfiles.append(str(path))
    cmd = [
        "timeout",
        "-s",
        "INT",
        "-k",
        "30",
        str(SNAKEMAKE_LIMIT_S),
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "2",
        "--configfile",
        *configfiles,
        *args,
    ]
    env = dict(
        cluster.env,
        PYTHONUNBUFFERED="1",
        SNAKEMAKE_SLURM_PARTITIONS=str(cluster.root / "partitions.yaml"),
    )
    with open(workdir / "snakemake.out", "w") as out:
        return subprocess.Popen(
            cmd,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            stdin=subprocess.DEVNULL,
        )


def preempt_training_after_its_first_checkpoint(
    cluster: Cluster, workdir: Path, proc: subprocess.Popen
) -> str:
    """Requeue the running training job as soon as it has written a checkpoint, as SLURM
    does on pre-emption; return its job id."""
    import torch

    checkpoint = workdir / "results/demo/checkpoint.pt"
    deadline = time.monotonic() + SNAKEMAKE_LIMIT_S
    while True:
        assert proc.poll() is None, "snakemake ended before training was pre-empted"
        assert time.monotonic() < deadline, "training never reached its first checkpoint"
        running = [
            j["JobId"]
            for j in cluster.jobs()
            if re.fullmatch(r"rule_train(_wildcards_.*)?", j.get("Comment", ""))
            and j["JobState"] == "RUNNING"
        ]
        if running and checkpoint.exists():
            if torch.load(checkpoint, map_location="cpu", weights_only=True)["step"] >= 5:
                break
        time.sleep(0.2)
    job = running[0]
    cluster.run("scontrol", "requeue", job)
    # A requeued job waits ~2 min (BeginTime) before it may start again: not in a test.
    deadline = time.monotonic() + 60
    while True:
        record = next(j for j in cluster.jobs() if j["JobId"] == job)
        if record["JobState"] == "PENDING":
            cluster.run("scontrol", "update", f"JobId={job}", "StartTime=now")
            return job
        assert record["JobState"] in ("RUNNING", "COMPLETING", "REQUEUED"), record
        assert time.monotonic() < deadline, record
        time.sleep(0.2)


@pytest.mark.slow
def test_demo_runs_on_slurm_with_training_on_a_gpu_and_survives_preemption(slurm_cluster, tmp_path):
    import pandas as pd

    from direction_tagger.io import load_movie
    from direction_tagger.movies.video_io import read_video_frames
    from direction_tagger.train.model_file import load_model

    started = time.monotonic()
    proc = start_snakemake_on_slurm(
        slurm_cluster,
        tmp_path,
        "--workflow-profile",
        str(PROFILE),
        *TEST_SPEED,
        configs=[SLURM_DEMO],
    )
    try:
        preempted = preempt_training_after_its_first_checkpoint(slurm_cluster, tmp_path, proc)
        proc.wait(timeout=SNAKEMAKE_LIMIT_S + 60)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
    seconds = time.monotonic() - started
    logs = "\n".join(
        f"--- {p}\n{p.read_text()[-2000:]}" for p in sorted(tmp_path.glob("logs/**/*.log"))
    )
    assert proc.returncode == 0, (
        f"snakemake failed ({proc.returncode}) after {seconds:.0f} s:\n"
        f"{(tmp_path / 'snakemake.out').read_text()[-6000:]}\n{logs}\n"
        f"{slurm_cluster.logs()}"
    )

    # SLURM's records: which rule ran where, asking for what
    jobs = {}
    for job in slurm_cluster.jobs():
        rule = re.match(r"rule_(\w+?)(?:_wildcards_.*)?$", job.get("Comment", ""))
        assert rule, f"a job Snakemake did not submit: {job}"
        jobs.setdefault(rule.group(1), []).append(job)
    assert set(jobs) == {
        "synth_labelled",
        "synth_movie",
        "verify",
        "train",
        "calibrate",
        "evaluate",
        # a movie's chain is one job (group "movie"), named after the group and its rules
        "movie_movie_figures_predict_movie_render_movie_smooth_movie",
    }  # the rest ran locally
    for rule, records in jobs.items():
        for job in records:
            assert job["JobState"] == "COMPLETED", f"{rule}: {job}"
            # asked (sbatch --gpus=1: TresPerJob) and given (JOB_GRES); TRES would list
            # gres/gpu only with AccountingStorageTRES, which needs slurmdbd
            gpu = [job.get("TresPerJob"), job.get("JOB_GRES")]
            if rule == "train":
                assert job["Partition"] == "gpu" and gpu == ["gres:gpu:1", "gpu:1"], job
                assert job["NumCPUs"] == "2" and job["MinMemoryNode"] == "16000M", job
            else:
                assert job["Partition"] == "cpu" and gpu == [None, "(null)"], f"{rule}: {job}"
    # one training job, started twice by SLURM; the second start resumed from the checkpoint
    assert [(j["JobId"], j["Restarts"], j["Requeue"]) for j in jobs["train"]] == [
        (preempted, "1", "1")
    ]
    train_log = (tmp_path / "logs/demo/train.log").read_text()
    assert re.search(r"resuming from results/demo/checkpoint.pt at step (5|10) of 15", train_log)
    run = tmp_path / "results/demo"
    assert pd.read_csv(run / "training_log.csv")["step"].tolist() == [5, 10, 15]

    # the outputs
    model, meta = load_model(run / "model.pt")
    assert meta["keypoints"] == ["base", "neck", "head"]
    frames, _ = read_video_frames(run / "movies/demo_walk/tagged.mp4")
    assert len(frames) == len(load_movie(tmp_path / "tagged_dataset/synthetic/movie_demo_walk.npz"))
    assert (run / "summary.md").is_file()
    print(f"SLURM demo: {seconds:.0f} s, {sum(map(len, jobs.values()))} SLURM jobs")
