"""The executor's two ways of running a workflow, as objects.

Waiting (Snakemake's usual way): a job is submitted once its inputs exist, and
followed until it ends. Immediate (--immediate-submit): the whole DAG goes to
Slurm at once, each job after the jobs that write its inputs (afterok), and
none is followed: Snakemake counts a job as ended once it is in Slurm."""

from collections.abc import Iterable, Mapping

from ws_slurm.sbatch import upstream


class Waiting:
    follows = True

    def dependencies(self, inputs: Iterable[str], producer: Mapping[str, str]
                     ) -> tuple[str, ...]:
        return ()  # its inputs exist already


class Immediate:
    follows = False

    def dependencies(self, inputs: Iterable[str], producer: Mapping[str, str]
                     ) -> tuple[str, ...]:
        return upstream(inputs, producer)


def mode_for(immediate: bool) -> "Waiting | Immediate":
    return Immediate() if immediate else Waiting()
