#!/usr/bin/env bash
# `xrem run` as 1 process (--threads 1, --threads 2) vs `mpirun -np 2` (--threads 1 per rank) on small
# random-weight inputs; wall time of each run, 3 repeats, and whether the outputs are byte-identical.
# usage: scripts/bench_mpi.sh XREM_BIN WORKDIR   (env: N images [40], K1 [10], B --batch [2], DATA [/work/shared/data])
# Writes results to stdout; results/bench/mpi.md holds a run of it.
set -eu
BIN=$1 W=$2
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA=${DATA:-/work/shared/data}
VOCAB=$DATA/bert-base-uncased-vocab.txt TGZ=$DATA/NLMCXR_reports.tgz
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_WAIT_POLICY=passive
mkdir -p $W/in
[ -e "$W/in/corpus.h5" ] || {
"$BIN" dev random-weights --arch albef_retrieval --preset small --vocab "$VOCAB" --seed 11 --out "$W/in/ret.h5"
"$BIN" dev random-weights --arch albef_itm --preset small --vocab "$VOCAB" --seed 15 --out "$W/in/itm.h5"
"$BIN" dev synth-images --n ${N:-40} --seed 7 --out "$W/in/cxr.h5"
"$BIN" dev iu-reports --tgz "$TGZ" --corpus "$W/in/corpus.csv" --gt "$W/in/gt.csv" --test-every 10 --corpus-max 300
"$BIN" embed --weights "$W/in/ret.h5" --corpus "$W/in/corpus.csv" --out "$W/in/corpus.h5"
} 2>/dev/null
RUN="run --retrieval $W/in/ret.h5 --itm $W/in/itm.h5 --images $W/in/cxr.h5 --corpus $W/in/corpus.h5 --res-retrieval 32 --res-itm 48 --k1 ${K1:-10} --k2 3 --k3 2 --nli $ROOT/tests/golden/nli_small.weights.h5 --batch ${B:-2}"
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
for rep in 1 2 3; do
  rm -rf $W/o*; echo "rep $rep 1proc_t1 $(t $BIN $RUN --threads 1 --out $W/o1)"
  echo "rep $rep 1proc_t2 $(t $BIN $RUN --threads 2 --out $W/o2)"
  echo "rep $rep mpi2_t1 $(t mpirun --oversubscribe -np 2 $BIN $RUN --threads 1 --out $W/o3)"
  for f in run.h5 reports.csv pred.csv; do cmp -s $W/o1/$f $W/o3/$f && echo "rep $rep $f mpi2==1proc" || echo "rep $rep $f mpi2 DIFFERS"; cmp -s $W/o1/$f $W/o2/$f && echo "rep $rep $f t2==t1" || echo "rep $rep $f t2 DIFFERS"; done
done
